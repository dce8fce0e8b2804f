/* sampler.c: choosing the next token (sampler.h), specified exactly so that
 * every backend (the GPU sampler in kernels/sample.hip included) reproduces it.
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
 *
 * sample_token(logits, n, T, top_p, u):
 *   1. T <= 0 (or not a number): argmax, ties to the lower id. Done.
 *   2. m = max logit; e_i = exp(((double)logit_i - m) / (double)T) in double.
 *   3. top_p >= 1 (or not a number): the candidates are all ids in id order
 *      0..n-1, mass K = sum of all e_i (double, summed in id order).
 *      top_p < 1: sort ids by logit descending, ties by lower id; the
 *      candidates are the shortest prefix of that order whose running sum of
 *      e_i (double, in that order) reaches top_p * Z, Z = sum of all e_i in id
 *      order; K = that running sum. (top_p <= 0 keeps only the first id, the
 *      argmax.) Sorting by logit rather than by e_i gives the same order and
 *      keeps ties exact.
 *   4. target = u * K; walk the candidates in their order accumulating e_i in
 *      double; return the first id whose running sum exceeds target; if
 *      rounding leaves none, return the last candidate with e_i > 0.
 *   A parallel implementation that sums in another order can differ from this
 *   one only when target falls within rounding distance (about 1e-16 relative)
 *   of a boundary between two ids.
 */
#include "sampler.h"

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

void build_sample_scratch(SampleScratch *s, int n) {
    s->n = n;
    s->prob = xmalloc(sizeof(float) * (size_t)n);
    s->idx = xmalloc(sizeof(int32_t) * (size_t)n);
}

void free_sample_scratch(SampleScratch *s) {
    free(s->prob);
    free(s->idx);
    s->prob = NULL;
    s->idx = NULL;
    s->n = 0;
}

/* Sort order for the nucleus: logit descending, then id ascending. So that the
 * comparator needs no context pointer, ids are sorted as (key, id) pairs packed
 * into one 64-bit word, key an order-preserving map of the float. */
static uint32_t float_order_key(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u); // ascending with f
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Fill order[0..n) with ids sorted by logit descending, ties by lower id. */
static void sort_ids_by_logit(const float *logits, int n, int32_t *order) {
    uint64_t *keys = xmalloc(sizeof(uint64_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        float l = isnan(logits[i]) ? -INFINITY : logits[i];
        uint32_t desc = ~float_order_key(l); // larger logit -> smaller key
        keys[i] = ((uint64_t)desc << 32) | (uint32_t)i;
    }
    qsort(keys, (size_t)n, sizeof(uint64_t), cmp_u64);
    for (int i = 0; i < n; i++) order[i] = (int32_t)(keys[i] & 0xffffffffu);
    free(keys);
}

int32_t sample_token(const float *logits, int n, float temperature, float top_p, double u,
                     SampleScratch *s) {
    CHECK(n > 0 && s && s->n >= n);
    if (!(temperature > 0.0f)) return argmax_f32(logits, n);

    double m = logits[argmax_f32(logits, n)];
    double inv_t = 1.0 / (double)temperature;
    /* e_i in double; NaN logits get zero weight */
    double z = 0.0;
    for (int i = 0; i < n; i++) {
        double e = isnan(logits[i]) ? 0.0 : exp(((double)logits[i] - m) * inv_t);
        z += e;
    }
#define E_OF(i) (isnan(logits[i]) ? 0.0 : exp(((double)logits[i] - m) * inv_t))

    int32_t *cand = s->idx;
    int n_cand;
    double kept;
    if (!(top_p < 1.0f)) {
        for (int i = 0; i < n; i++) cand[i] = i;
        n_cand = n;
        kept = z;
    } else {
        sort_ids_by_logit(logits, n, cand);
        double need = (double)top_p * z;
        kept = 0.0;
        n_cand = 0;
        while (n_cand < n) {
            kept += E_OF(cand[n_cand]);
            n_cand++;
            if (kept >= need) break;
        }
    }

    double target = u * kept, run = 0.0;
    int32_t last_pos = cand[0];
    for (int j = 0; j < n_cand; j++) {
        double e = E_OF(cand[j]);
        run += e;
        if (e > 0.0) last_pos = cand[j];
        if (run > target) return cand[j];
    }
#undef E_OF
    return last_pos;
}
