/* sampler.h: choosing the next token from logits, identically on every backend.
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

/* Index of the largest value; ties go to the lower index. */
int32_t argmax_f32(const float *x, int n);

/* Scratch for sample_token, sized for a vocabulary of n. */
typedef struct {
    int n;
    float *prob;  // (n)
    int32_t *idx; // (n)
} SampleScratch;
void build_sample_scratch(SampleScratch *s, int n);
void free_sample_scratch(SampleScratch *s);

/* Greedy when temperature <= 0; otherwise softmax(logits / temperature),
 * keep the smallest set of most probable ids whose mass reaches top_p (ties
 * by lower id), and pick with uniform u. logits is not modified. */
int32_t sample_token(const float *logits, int n, float temperature, float top_p, double u,
                     SampleScratch *s);

#ifdef __cplusplus
}
#endif
#endif
