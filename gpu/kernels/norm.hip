/* norm.hip: RMSNorm, out = x / sqrt(mean(x^2) + eps) * w (docs/MODEL.md §2),
 * from the fp32 residual stream to the bf16 activations that the next GEMM
 * reads. One block per row: the sum of squares is reduced in a fixed order (per-thread
 * strided partials, then waves, then the block), so a row's result depends on
 * that row alone (batch invariance). `rows` lets the final norm gather only
 * the tokens that sample. Precise mode also writes the bf16 remainder `lo`.
 * combine_rmsnorm_f32_bf16out: moe_combine and the next layer's norm in one
 * launch (the same bits as the two: moe_combine_at4, the same reduction).
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define NORM_THREADS 256

/* A thread's partial sum of squares, one float4 of its strided columns at a
 * time (fixed order; norm_finish reduces over the block). */
__device__ __forceinline__ float norm_ss4(float ss, const float4 &v) {
    return ss + (v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w);
}

/* The block's sum of the threads' partials ss, then out (and lo) of row i
 * from the fp32 row xr (each thread reads only the columns it summed). */
__device__ __forceinline__ void norm_finish(float ss, float *red, uint16_t *out, uint16_t *lo, const float *xr,
                                            const float *w, int64_t i, int H, float eps) {
    ss = block_sum<NORM_THREADS>(ss, red);
    const float scale = 1.0f / sqrtf(ss / (float)H + eps);
    uint16_t *o = out + i * H; // (H) bf16
    for (int c = threadIdx.x * 4; c < H; c += NORM_THREADS * 4) {
        float4 v = *(const float4 *)(xr + c);
        float4 g = *(const float4 *)(w + c);
        const float y[4] = {g.x * (v.x * scale), g.y * (v.y * scale), g.z * (v.z * scale),
                            g.w * (v.w * scale)};
        ushort4 r;
        r.x = f32_to_bf16_dev(y[0]);
        r.y = f32_to_bf16_dev(y[1]);
        r.z = f32_to_bf16_dev(y[2]);
        r.w = f32_to_bf16_dev(y[3]);
        *(ushort4 *)(o + c) = r;
        if (lo) { // the remainder: out + lo carries ~16 mantissa bits
            ushort4 q;
            q.x = bf16_rem_dev(y[0], r.x);
            q.y = bf16_rem_dev(y[1], r.y);
            q.z = bf16_rem_dev(y[2], r.z);
            q.w = bf16_rem_dev(y[3], r.w);
            *(ushort4 *)(lo + i * H + c) = q;
        }
    }
}

__global__ void f32_rmsnorm_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                                    const int32_t *rows, int H, float eps) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ float red[NORM_THREADS / GETP_WAVE];
    const int i = blockIdx.x;
    const int src_row = rows ? rows[i] : i;
    const float *xr = x + (int64_t)src_row * H; // (H) fp32
    float ss = 0.0f;
    for (int c = threadIdx.x * 4; c < H; c += NORM_THREADS * 4) ss = norm_ss4(ss, *(const float4 *)(xr + c));
    norm_finish(ss, red, out, lo, xr, w, i, H, eps);
}

/* moe_combine, then the next layer's rmsnorm of the row, in one block a row:
 * each thread writes the x values whose squares it sums and reads back only
 * those (its own writes) when it normalizes, so no barrier beyond block_sum's. */
__global__ void f32_combine_rmsnorm_bf16out(float *__restrict__ x, const float *__restrict__ ypair,
                                            const float *__restrict__ topk_w, int k,
                                            uint16_t *out, uint16_t *lo, const float *w, int H, float eps) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ float red[NORM_THREADS / GETP_WAVE];
    const int i = blockIdx.x;
    float *xr = x + (int64_t)i * H; // (H) fp32
    float ss = 0.0f;
    for (int c = threadIdx.x * 4; c < H; c += NORM_THREADS * 4) {
        const float4 v = moe_combine_at4(*(const float4 *)(xr + c), ypair, topk_w, i, k, H, c);
        *(float4 *)(xr + c) = v;
        ss = norm_ss4(ss, v);
    }
    norm_finish(ss, red, out, lo, xr, w, i, H, eps);
}

void rmsnorm_f32_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                         const int32_t *rows, int T, int H, float eps, hipStream_t stream) {
    CHECK(H % 4 == 0 && T >= 0);
    if (T == 0) return;
    port_launch(f32_rmsnorm_bf16out, T, NORM_THREADS, 0, stream, out, lo, x, w, rows, H, eps);
    GPU_CHECK_LAUNCH();
}

void combine_rmsnorm_f32_bf16out(float *x, const float *ypair, const float *topk_w, int k,
                                 uint16_t *out, uint16_t *lo, const float *w, int T, int H, float eps,
                                 hipStream_t stream) {
    CHECK(H % 4 == 0 && T >= 0 && k >= 1);
    if (T == 0) return;
    port_launch(f32_combine_rmsnorm_bf16out, T, NORM_THREADS, 0, stream, x, ypair, topk_w, k, out, lo, w, H,
                eps);
    GPU_CHECK_LAUNCH();
}
