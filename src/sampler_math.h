/* sampler_math.h: the arithmetic of the sampler (sampler.h), written once for
 * the CPU (sampler.c) and the GPU (gpu/kernels/sample.hip) so that both
 * compute the same bits. docs/MODEL.md "Sampling" states the rule.
 *
 * Probability masses are integers: w = floor(e * 2^40) with e = exp(x) in
 * [0, 1], x = (logit - max) * (1 / temperature) <= 0. Sums of integers do not
 * depend on the order of addition, so a parallel sampler and a serial one
 * find exactly the same kept set and the same drawn id; the integers resolve
 * probabilities to 2^-40 of the largest, far below anything a distribution
 * test (or a model) can see. exp is a fixed polynomial built from single
 * roundings and exact power-of-two scaling (no library exp, whose last bit
 * differs between libm and the GPU), and x is a rounded product (never fused
 * with anything): sampler.c is compiled with -ffp-contract=off, and device
 * code uses __fmul_rn / __fsub_rn.
 */
#ifndef GETP_SAMPLER_MATH_H
#define GETP_SAMPLER_MATH_H

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define SAMPLER_FN __host__ __device__ static inline
#else
#define SAMPLER_FN static inline
#endif

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define SAMPLER_MUL(a, b) __fmul_rn((a), (b))
#define SAMPLER_SUB(a, b) __fsub_rn((a), (b))
#else
#define SAMPLER_MUL(a, b) ((a) * (b))
#define SAMPLER_SUB(a, b) ((a) - (b))
#endif

#define SAMPLER_ONE ((uint64_t)1 << 40) // the mass of the most probable id

/* Order-preserving 32-bit key of a logit: larger logit, larger key; NaN
 * sorts as -inf. The sampler's order is key descending, then id ascending. */
SAMPLER_FN uint32_t sampler_key(float f) {
    uint32_t u;
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
    u = __float_as_uint(f);
#else
    union { float f; uint32_t u; } c;
    c.f = f;
    u = c.u;
#endif
    if ((u & 0x7fffffffu) > 0x7f800000u) u = 0xff800000u; // NaN -> -inf
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* x = (logit - max) * inv_t, one rounding each: monotone in the logit. */
SAMPLER_FN float sampler_x(float logit, float max, float inv_t) {
    return SAMPLER_MUL(SAMPLER_SUB(logit, max), inv_t);
}

/* exp(x) for x <= 0, about [0, 1]: 2^(x log2 e) = 2^n * p(f), n = floor, f
 * in [0, 1), p the degree-9 Taylor polynomial of 2^f in Horner form (error
 * below 1e-8 relative before fp32 rounding); below x = -32 the mass would be
 * 0 anyway (e < 2^-46). exp(0) is exactly 1. Nothing relies on this being
 * monotone in x: the filters compare x (min_p) or sum masses along the key
 * order (top_p), and equal logits always get equal masses. */
SAMPLER_FN float sampler_exp(float x) {
    if (!(x > -32.0f)) return 0.0f; // NaN, -inf, tiny
    if (x >= 0.0f) return 1.0f;
    const float t = SAMPLER_MUL(x, 1.44269504088896341f);
    const float n = floorf(t);
    const float f = SAMPLER_SUB(t, n); // exact
    float p = 1.01780860e-7f;          // ln2^9 / 9!
    p = fmaf(p, f, 1.32154867e-6f);    // ln2^8 / 8!, ... down to ln2 and 1
    p = fmaf(p, f, 1.52527338e-5f);
    p = fmaf(p, f, 1.54035304e-4f);
    p = fmaf(p, f, 1.33335581e-3f);
    p = fmaf(p, f, 9.61812911e-3f);
    p = fmaf(p, f, 5.55041087e-2f);
    p = fmaf(p, f, 2.40226507e-1f);
    p = fmaf(p, f, 6.93147181e-1f);
    p = fmaf(p, f, 1.0f);
    return ldexpf(p, (int)n); // exact: p in [1, 2), n >= -47
}

/* The integer mass of x. */
SAMPLER_FN uint64_t sampler_mass(float x) {
    return (uint64_t)(sampler_exp(x) * 1099511627776.0f); // * 2^40: exact, then truncated
}

/* top_p: the kept prefix is the shortest whose mass reaches need(z), z the
 * mass of the candidates (top_p <= 0 keeps one id). */
SAMPLER_FN uint64_t sampler_top_p_need(float top_p, uint64_t z) {
    if (!(top_p > 0.0f)) return 1;
    const double need = ceil((double)top_p * (double)z);
    return need < 1.0 ? 1 : (uint64_t)need;
}

/* The drawn target: an integer in [0, w_total). */
SAMPLER_FN uint64_t sampler_target(double u, uint64_t w_total) {
    const uint64_t t = (uint64_t)floor(u * (double)w_total);
    return t < w_total ? t : w_total - 1;
}

#endif
