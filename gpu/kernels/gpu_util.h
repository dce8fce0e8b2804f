/* gpu_util.h: device helpers shared by the non-GEMM kernels: bf16 <-> fp32
 * (bf16 is stored as raw uint16, round to nearest even, as common.h does on
 * the host) and reductions over a group of W lanes of one wave. W is a
 * template parameter (a power of two <= GETP_WAVE), so the same code is right
 * for AMD's 64-lane waves and NVIDIA's 32-lane warps; nothing here names a
 * wave width literally. Block-wide reductions combine the per-wave results in
 * a fixed order, so every result is independent of anything but its inputs.
 */
#ifndef GETP_GPU_UTIL_H
#define GETP_GPU_UTIL_H

#include "port.h"
#include <stdint.h>

__device__ __forceinline__ float bf16_to_f32_dev(uint16_t h) {
    return __uint_as_float((uint32_t)h << 16);
}

__device__ __forceinline__ uint16_t f32_to_bf16_dev(float f) {
    uint32_t u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Precise mode (kernels.h): v kept as the pair hi + lo, lo = bf16(v - hi). */
__device__ __forceinline__ uint16_t bf16_rem_dev(float v, uint16_t hi) {
    return f32_to_bf16_dev(v - bf16_to_f32_dev(hi));
}

/* hi[j] = bf16(v); lo[j] = its remainder when lo is set (precise mode). */
__device__ __forceinline__ void bf16_store_pair_dev(uint16_t *hi, uint16_t *lo, int64_t j, float v) {
    const uint16_t h = f32_to_bf16_dev(v);
    hi[j] = h;
    if (lo) lo[j] = bf16_rem_dev(v, h);
}

template <int W>
__device__ __forceinline__ float group_sum(float v) {
    static_assert(W >= 1 && W <= GETP_WAVE && (W & (W - 1)) == 0, "group width");
#pragma unroll
    for (int o = W / 2; o > 0; o >>= 1) v += GETP_SHFL_XOR(v, o);
    return v;
}

template <int W>
__device__ __forceinline__ float group_max(float v) {
    static_assert(W >= 1 && W <= GETP_WAVE && (W & (W - 1)) == 0, "group width");
#pragma unroll
    for (int o = W / 2; o > 0; o >>= 1) v = fmaxf(v, GETP_SHFL_XOR(v, o));
    return v;
}

/* Sum over a block of NT threads (NT a multiple of GETP_WAVE); every thread
 * gets the result. `red` is shared scratch of NT / GETP_WAVE floats. */
template <int NT>
__device__ __forceinline__ float block_sum(float v, float *red) {
    static_assert(NT % GETP_WAVE == 0, "block size must be a multiple of the wave");
    constexpr int NW = NT / GETP_WAVE;
    v = group_sum<GETP_WAVE>(v);
    const int lane = threadIdx.x % GETP_WAVE, wave = threadIdx.x / GETP_WAVE;
    if (lane == 0) red[wave] = v;
    __syncthreads();
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < NW; i++) s += red[i]; // fixed order
    __syncthreads();
    return s;
}

/* x + the k experts' outputs of token m at columns c .. c + 3 (4-aligned),
 * weighted, one fused multiply-add per expert in expert order: moe_combine's
 * arithmetic (moe.hip), shared with the fused combine + norm (norm.hip) so
 * both give the same bits. */
__device__ __forceinline__ float4 moe_combine_at4(float4 v, const float *__restrict__ ypair,
                                                  const float *__restrict__ topk_w, size_t m, int k, int H,
                                                  size_t c) {
    for (int j = 0; j < k; j++) {
        const float w = topk_w[m * k + j];
        const float4 y = *(const float4 *)(ypair + (m * k + j) * H + c);
        v.x = fmaf(w, y.x, v.x);
        v.y = fmaf(w, y.y, v.y);
        v.z = fmaf(w, y.z, v.z);
        v.w = fmaf(w, y.w, v.w);
    }
    return v;
}

#endif
