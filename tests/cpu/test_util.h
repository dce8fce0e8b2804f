/* test_util.h: the little the CPU tests share: pass/fail counting with the
 * closing "N passed, M failed" line, a seeded random source, and hand-built
 * Tensors (f32, bf16, MXFP4) with an independent decoder for each. */
#ifndef GETP_TEST_UTIL_H
#define GETP_TEST_UTIL_H

#include "model.h"

#include <math.h>
#include <stdio.h>

#include "../expect.h" // EXPECT, test_finish, g_pass/g_fail

/* xorshift64*: reproducible test inputs. */
static uint64_t g_rng = 0x1234567887654321ull;
static inline void rng_seed(uint64_t s) { g_rng = s ? s : 1; }
static inline uint64_t rng_u64(void) {
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}
static inline double rng_unit(void) { return (double)(rng_u64() >> 11) * 0x1.0p-53; }
static inline float rng_sym(float a) { return (float)((2.0 * rng_unit() - 1.0) * a); } // uniform in (-a, a)
static inline float rng_normal(void) {
    double u1 = rng_unit() + 1e-300, u2 = rng_unit();
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Independent decoders (not model.c's): bf16 = upper half of the float bits;
 * MXFP4 nibble rule of docs/MODEL.md §3b: magnitude table by the low 3 bits, bit 3 the
 * sign, times 2^(scale-127). */
static inline double ref_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline double ref_mxfp4_code(int code) {
    static const double mag[8] = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0};
    return (code & 8) ? -mag[code & 7] : mag[code & 7];
}
/* Element (row, col) of a (rows, cols) MXFP4 tensor given raw blocks/scales. */
static inline double ref_mxfp4_at(const uint8_t *blocks, const uint8_t *scales, int64_t cols, int64_t row,
                           int64_t col) {
    int64_t g = row * (cols / 32) + col / 32;
    int j = (int)(col % 32);
    uint8_t byte = blocks[g * 16 + j / 2];
    int code = (j % 2 == 0) ? (byte & 15) : (byte >> 4);
    return ldexp(ref_mxfp4_code(code), (int)scales[g] - 127);
}

/* A Tensor that owns its storage (data and scales malloc'ed). */
static inline Tensor make_tensor(DType dt, int ndim, const int64_t *shape) {
    Tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.ndim = ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (t.shape[i] = shape[i]);
    if (dt == DT_F32) t.data = xcalloc((size_t)n, 4);
    if (dt == DT_BF16) t.data = xcalloc((size_t)n, 2);
    if (dt == DT_MXFP4) {
        t.data = xcalloc((size_t)(n / 32) * 16, 1);
        t.scales = xcalloc((size_t)(n / 32), 1);
    }
    return t;
}
static inline void free_tensor(Tensor *t) {
    free((void *)t->data);
    free((void *)t->scales);
    t->data = NULL;
    t->scales = NULL;
}

/* Fill with random values: f32/bf16 uniform in (-a, a); MXFP4 random codes and
 * scales in 2^(-e_lo..e_hi) around a. */
static inline void fill_random(Tensor *t, float a) {
    int64_t n = tensor_numel(t);
    if (t->dtype == DT_F32)
        for (int64_t i = 0; i < n; i++) ((float *)t->data)[i] = rng_sym(a);
    if (t->dtype == DT_BF16)
        for (int64_t i = 0; i < n; i++) ((uint16_t *)t->data)[i] = f32_to_bf16(rng_sym(a));
    if (t->dtype == DT_MXFP4) {
        int e = (int)floor(log2(a / 6.0));
        for (int64_t i = 0; i < n / 2; i++) ((uint8_t *)t->data)[i] = (uint8_t)rng_u64();
        for (int64_t g = 0; g < n / 32; g++)
            ((uint8_t *)t->scales)[g] = (uint8_t)(127 + e - 1 + (int)(rng_u64() % 3));
    }
}

/* Element i (flat) of any hand-built tensor, decoded independently, in double. */
static inline double ref_at(const Tensor *t, int64_t i) {
    if (t->dtype == DT_F32) return ((const float *)t->data)[i];
    if (t->dtype == DT_BF16) return ref_bf16(((const uint16_t *)t->data)[i]);
    int64_t cols = t->shape[t->ndim - 1];
    return ref_mxfp4_at(t->data, t->scales, cols, i / cols, i % cols);
}

#endif
