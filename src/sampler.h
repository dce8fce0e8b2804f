/* sampler.h: choosing the next token from logits, identically on every backend
 * (docs/MODEL.md "Sampling"; the GPU sampler is gpu/kernels/sample.hip, its
 * arithmetic sampler_math.h is shared with this file).
 *
 * Randomness is counter-based: the uniform number for (seed, request index,
 * step) is a pure function of the three, so results never depend on how the
 * requests are ordered, batched or split over ranks. Greedy (temperature 0)
 * is argmax with ties going to the lower id.
 */
#ifndef GETP_SAMPLER_H
#define GETP_SAMPLER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Uniform in [0, 1) from (seed, request index, generation step). */
double rng_uniform(uint64_t seed, int64_t index, int64_t step);

/* 1 if all n logits are finite, 0 if any is NaN or +-Inf. Both engines
 * check each row before sampling: a non-finite row (NaN weights, a broken
 * model) stops its request with FINISH_ERROR, never becomes a token. */
int logits_row_finite(const float *x, int n);

/* Index of the largest value; ties go to the lower index; NaN never wins. */
int32_t argmax_f32(const float *x, int n);

/* A request's sampling settings in the form the samplers use. */
typedef struct {
    float inv_t;   // 1 / temperature; 0 = greedy
    int32_t top_k; // keep the top_k most probable ids; 0 = off
    float top_p;   // keep the shortest most-probable prefix with this share of the mass; 1 = off
    float min_x;   // min_p as a bound on x = (logit - max) / T: log(min_p); -inf = off
} SampleSpec;

/* temperature <= 0 (or NaN): greedy; top_k <= 0: off; top_p >= 1 (or NaN):
 * off; min_p <= 0 (or NaN): off. */
SampleSpec sample_spec(float temperature, int32_t top_k, float top_p, float min_p);

/* Scratch for the samplers, sized for a vocabulary of n. */
typedef struct {
    int n;
    uint64_t *w;    // (n) masses
    uint64_t *key;  // (n) order keys
    uint8_t *kept;  // (n)
} SampleScratch;
void build_sample_scratch(SampleScratch *s, int n);
void free_sample_scratch(SampleScratch *s);

/* One id drawn from logits (n) with uniform u in [0, 1): greedy when
 * sp->inv_t is 0; otherwise the masses of softmax(logits / T), the filters
 * top_k, top_p, min_p in that order, and the id whose cumulative mass in id
 * order first exceeds u times the kept mass. logits is not modified. */
int32_t sample_token(const float *logits, int n, const SampleSpec *sp, double u, SampleScratch *s);

/* OpenAI logprobs of one step: *lp = log-softmax(logits)[id] (temperature 1,
 * no filter), and the n_top most probable ids (key descending, ties to the
 * lower id) with theirs. n_top may be 0 (top_ids / top_lps unused). */
void token_logprobs(const float *logits, int n, int32_t id, int n_top, float *lp, int32_t *top_ids,
                    float *top_lps);

/* Test oracles, independent of the code above: the sampler's definition in
 * double for a small vocabulary (V <= SAMPLE_REF_MAX_V): p_i = softmax(l /
 * T), ids ordered by p descending (ties to the lower id), top_k, top_p
 * (shortest prefix reaching top_p of the candidates' mass), min_p (p_i >=
 * min_p * p_max), renormalized, into want[V]; and the upper tail of the
 * chi-square distribution with df degrees of freedom (Wilson-Hilferty). */
#define SAMPLE_REF_MAX_V 64
void sample_probs_reference(const float *l, int V, float T, int top_k, float top_p, float min_p,
                            double *want);
double chi2_upper_p(double x, int df);

#ifdef __cplusplus
}
#endif
#endif
