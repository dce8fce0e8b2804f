/* sampler.c: choosing the next token (sampler.h), the CPU reference of the
 * rule in docs/MODEL.md "Sampling". It is written to be obviously right, not
 * fast: the filters sort the ids; the GPU sampler (gpu/kernels/sample.hip)
 * finds the same kept set by radix selection and must agree with this file
 * id for id (gpu/selftest/selftest_sample.hip). Both use sampler_math.h for
 * every value that decides anything, and the masses are integers, so the
 * agreement is exact, not statistical. This file is compiled with
 * -ffp-contract=off (cmake/cpu.cmake): no product may be fused with a sum.
 *
 * rng_uniform(seed, index, step):
 *     mix(z) = splitmix64 finalizer of z + 0x9E3779B97F4A7C15:
 *              z += 0x9E3779B97F4A7C15
 *              z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *              z = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *              z = z ^ (z >> 31)
 *     h = mix(mix(mix(seed) ^ (uint64)index) ^ (uint64)step)
 *     u = (h >> 11) * 2^-53                       -> a double in [0, 1), 53 bits
 *   The generation step is the 0-based number of the token being generated
 *   (step 0 = the token sampled after the last prompt position).
 */
#include "sampler.h"
#include "sampler_math.h" // sampler_key, sampler_x, sampler_mass, sampler_top_p_need, sampler_target

#include <math.h>

static uint64_t splitmix64_mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double rng_uniform(uint64_t seed, int64_t index, int64_t step) {
    uint64_t h = splitmix64_mix(seed);
    h = splitmix64_mix(h ^ (uint64_t)index);
    h = splitmix64_mix(h ^ (uint64_t)step);
    return (double)(h >> 11) * 0x1.0p-53;
}

int logits_row_finite(const float *x, int n) {
    /* x - x is 0 for a finite x and NaN for NaN or Inf, and a NaN stays in a
     * sum: no branch per element, eight lanes the compiler can vectorize */
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k] - x[i + k];
    for (; i < n; i++) acc[0] += x[i] - x[i];
    return (acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7]) == 0.0f;
}

int32_t argmax_f32(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best] || (isnan(x[best]) && !isnan(x[i]))) best = i;
    return best;
}

SampleSpec sample_spec(float temperature, int32_t top_k, float top_p, float min_p) {
    SampleSpec s;
    s.inv_t = temperature > 0.0f && isfinite(temperature) ? 1.0f / temperature : 0.0f;
    s.top_k = top_k > 0 ? top_k : 0;
    s.top_p = top_p < 1.0f ? top_p : 1.0f; // NaN compares false: off
    s.min_x = min_p > 0.0f ? (min_p >= 1.0f ? 0.0f : logf(min_p)) : -INFINITY;
    return s;
}

void build_sample_scratch(SampleScratch *s, int n) {
    s->n = n;
    s->w = xmalloc(sizeof(uint64_t) * (size_t)n);
    s->key = xmalloc(sizeof(uint64_t) * (size_t)n);
    s->kept = xmalloc((size_t)n);
}

void free_sample_scratch(SampleScratch *s) {
    free(s->w);
    free(s->key);
    free(s->kept);
    memset(s, 0, sizeof *s);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* key[j] for j < n: the ids in the sampler's order (logit descending, ties to
 * the lower id) as (~sampler_key << 32 | id), ascending. */
static void sort_by_key(const float *logits, int n, uint64_t *key) {
    for (int i = 0; i < n; i++) key[i] = ((uint64_t)(~sampler_key(logits[i])) << 32) | (uint32_t)i;
    qsort(key, (size_t)n, sizeof *key, cmp_u64);
}

static float max_logit(const float *logits, int n) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (logits[i] > m) m = logits[i]; // NaN compares false
    return m;
}

int32_t sample_token(const float *logits, int n, const SampleSpec *sp, double u, SampleScratch *s) {
    CHECK(n > 0 && s && s->n >= n);
    if (!(sp->inv_t > 0.0f)) return argmax_f32(logits, n);
    const float m = max_logit(logits, n);
    if (!isfinite(m)) return argmax_f32(logits, n); // +inf, or nothing but -inf / NaN
    uint64_t *w = s->w;
    for (int i = 0; i < n; i++) w[i] = sampler_mass(sampler_x(logits[i], m, sp->inv_t)); // NaN: 0
    memset(s->kept, 1, (size_t)n);
    const int filtered = (sp->top_k > 0 && sp->top_k < n) || sp->top_p < 1.0f || sp->min_x > -INFINITY;
    if (filtered) {
        /* every filter keeps a prefix of the order: find its length L */
        sort_by_key(logits, n, s->key);
        int L = sp->top_k > 0 && sp->top_k < n ? sp->top_k : n;
        if (sp->top_p < 1.0f) {
            uint64_t z = 0, acc = 0;
            for (int j = 0; j < L; j++) z += w[(uint32_t)s->key[j]];
            const uint64_t need = sampler_top_p_need(sp->top_p, z);
            for (int j = 0; j < L; j++) {
                acc += w[(uint32_t)s->key[j]];
                if (acc >= need) {
                    L = j + 1;
                    break;
                }
            }
        }
        if (sp->min_x > -INFINITY) {
            int j = 0; // x is monotone in the logit: the ids with x >= min_x lead the order
            while (j < L && sampler_x(logits[(uint32_t)s->key[j]], m, sp->inv_t) >= sp->min_x) j++;
            L = j > 0 ? j : 1;
        }
        memset(s->kept, 0, (size_t)n);
        for (int j = 0; j < L; j++) s->kept[(uint32_t)s->key[j]] = 1;
    }
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        if (s->kept[i]) total += w[i];
    const uint64_t target = sampler_target(u, total);
    uint64_t run = 0;
    int32_t last = argmax_f32(logits, n);
    for (int i = 0; i < n; i++) {
        if (!s->kept[i] || !w[i]) continue;
        run += w[i];
        last = i;
        if (run > target) return i;
    }
    return last; // not reached: target < total
}

void token_logprobs(const float *logits, int n, int32_t id, int n_top, float *lp, int32_t *top_ids,
                    float *top_lps) {
    const float m = max_logit(logits, n);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        if (isfinite(logits[i])) sum += exp((double)logits[i] - (double)m);
    const double lse = (double)m + log(sum);
    *lp = (float)((double)logits[id] - lse);
    /* the n_top first ids of the order, by insertion into a sorted list */
    uint64_t best[64];
    CHECK(n_top >= 0 && n_top <= 64);
    int have = 0;
    for (int i = 0; i < n && n_top > 0; i++) {
        const uint64_t k = ((uint64_t)(~sampler_key(logits[i])) << 32) | (uint32_t)i;
        if (have == n_top && k >= best[have - 1]) continue;
        int j = have < n_top ? have++ : have - 1;
        while (j > 0 && best[j - 1] > k) {
            best[j] = best[j - 1];
            j--;
        }
        best[j] = k;
    }
    for (int j = 0; j < n_top; j++) {
        const int32_t t = j < have ? (int32_t)(uint32_t)best[j] : 0;
        top_ids[j] = t;
        top_lps[j] = (float)((double)logits[t] - lse);
    }
}

/* ---- test oracles (tests/cpu/test_sampler.c, gpu/selftest/selftest_sample.hip) ---- */

/* The definition in double: p_i = softmax(l / T), order by p descending (ties
 * to the lower id), top_k, top_p (shortest prefix reaching top_p of the
 * candidates' mass), min_p (p_i >= min_p * p_max), renormalized. */
void sample_probs_reference(const float *l, int V, float T, int top_k, float top_p, float min_p,
                            double *want) {
    double p[SAMPLE_REF_MAX_V], z = 0, m = -INFINITY;
    int order[SAMPLE_REF_MAX_V];
    CHECK(V >= 1 && V <= SAMPLE_REF_MAX_V);
    for (int i = 0; i < V; i++) m = fmax(m, l[i]);
    for (int i = 0; i < V; i++) z += (p[i] = exp(((double)l[i] - m) / T));
    for (int i = 0; i < V; i++) p[i] /= z, order[i] = i;
    for (int i = 0; i < V; i++)
        for (int j = i + 1; j < V; j++)
            if (p[order[j]] > p[order[i]] || (p[order[j]] == p[order[i]] && order[j] < order[i])) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int L = top_k > 0 && top_k < V ? top_k : V;
    if (top_p < 1.0f) {
        double zk = 0, acc = 0;
        for (int j = 0; j < L; j++) zk += p[order[j]];
        for (int j = 0; j < L; j++) {
            acc += p[order[j]];
            if (acc >= top_p * zk) {
                L = j + 1;
                break;
            }
        }
    }
    if (min_p > 0) {
        int j = 0;
        while (j < L && p[order[j]] >= min_p * p[order[0]]) j++;
        L = j;
    }
    double kept = 0;
    for (int i = 0; i < V; i++) want[i] = 0;
    for (int j = 0; j < L; j++) kept += (want[order[j]] = p[order[j]]);
    for (int i = 0; i < V; i++) want[i] /= kept;
}

/* Upper tail of chi-square with df degrees of freedom (Wilson-Hilferty). */
double chi2_upper_p(double x, int df) {
    if (df <= 0) return 1.0;
    const double k = df, zz = (pow(x / k, 1.0 / 3) - (1 - 2 / (9 * k))) / sqrt(2 / (9 * k));
    return 0.5 * erfc(zz / sqrt(2.0));
}
