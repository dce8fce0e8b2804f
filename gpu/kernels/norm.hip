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

/* A thread's columns are c = 4 * (threadIdx.x + r * NORM_THREADS), r = 0, 1, ...
 * (16-byte chunks, strided). The first NORM_R chunks are held in registers,
 * with their weights fetched before the kernel waits on the one before it
 * (the weights: port.h "launching"); a row past NORM_R * 4 * NORM_THREADS
 * columns (4,096; gpt-oss has 2,880) loops over the rest from memory. */
#define NORM_R 4

/* A thread's partial sum of squares, one float4 of its strided columns at a
 * time (fixed order; norm_finish reduces over the block). */
__device__ __forceinline__ float norm_ss4(float ss, const float4 &v) {
    return ss + (v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w);
}

__device__ __forceinline__ int norm_col(int r) { return 4 * ((int)threadIdx.x + r * NORM_THREADS); }

/* The row's weights of the register-held chunks (before port_dep_enter). */
__device__ __forceinline__ void norm_weights(float4 (&g)[NORM_R], const float *w, int H) {
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) g[r] = *(const float4 *)(w + norm_col(r));
}

/* out (and lo) columns c..c+3 of row i from x values v and weights g. */
__device__ __forceinline__ void norm_store4(uint16_t *out, uint16_t *lo, int64_t i, int H, int c,
                                            const float4 &v, const float4 &g, float scale) {
    const float y[4] = {g.x * (v.x * scale), g.y * (v.y * scale), g.z * (v.z * scale),
                        g.w * (v.w * scale)};
    ushort4 r;
    r.x = f32_to_bf16_dev(y[0]);
    r.y = f32_to_bf16_dev(y[1]);
    r.z = f32_to_bf16_dev(y[2]);
    r.w = f32_to_bf16_dev(y[3]);
    *(ushort4 *)(out + i * H + c) = r;
    if (lo) { // the remainder: out + lo carries ~16 mantissa bits
        ushort4 q;
        q.x = bf16_rem_dev(y[0], r.x);
        q.y = bf16_rem_dev(y[1], r.y);
        q.z = bf16_rem_dev(y[2], r.z);
        q.w = bf16_rem_dev(y[3], r.w);
        *(ushort4 *)(lo + i * H + c) = q;
    }
}

/* The block's sum of the threads' partials ss, then out (and lo) of row i:
 * the held chunks v / g, the rest from the fp32 row xr and w (each thread
 * reads only the columns it summed). */
__device__ __forceinline__ void norm_finish(float ss, float *red, uint16_t *out, uint16_t *lo,
                                            const float4 (&v)[NORM_R], const float4 (&g)[NORM_R],
                                            const float *xr, const float *w, int64_t i, int H, float eps) {
    ss = block_sum<NORM_THREADS>(ss, red);
    const float scale = 1.0f / sqrtf(ss / (float)H + eps);
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) norm_store4(out, lo, i, H, norm_col(r), v[r], g[r], scale);
    for (int c = norm_col(NORM_R); c < H; c += NORM_THREADS * 4)
        norm_store4(out, lo, i, H, c, *(const float4 *)(xr + c), *(const float4 *)(w + c), scale);
}

__global__ void __launch_bounds__(NORM_THREADS)
f32_rmsnorm_bf16out(uint16_t *__restrict__ out, uint16_t *__restrict__ lo, const float *__restrict__ x,
                    const float *__restrict__ w, const int32_t *rows, int H, float eps) {
    float4 g[NORM_R], v[NORM_R];
    norm_weights(g, w, H);
    port_dep_enter(); // port.h "launching": only the weights read before it
    __shared__ float red[NORM_THREADS / GETP_WAVE];
    const int i = blockIdx.x;
    const int src_row = rows ? rows[i] : i;
    const float *xr = x + (int64_t)src_row * H; // (H) fp32
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) v[r] = *(const float4 *)(xr + norm_col(r));
    float ss = 0.0f;
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) ss = norm_ss4(ss, v[r]);
    for (int c = norm_col(NORM_R); c < H; c += NORM_THREADS * 4) ss = norm_ss4(ss, *(const float4 *)(xr + c));
    norm_finish(ss, red, out, lo, v, g, xr, w, i, H, eps);
}

/* moe_combine, then the next layer's rmsnorm of the row, in one block a row:
 * each thread writes the x values whose squares it sums and normalizes
 * those (held, or its own writes read back past NORM_R chunks), so no
 * barrier beyond block_sum's. */
__global__ void __launch_bounds__(NORM_THREADS)
f32_combine_rmsnorm_bf16out(float *__restrict__ x, const float *__restrict__ ypair,
                            const float *__restrict__ topk_w, int k, uint16_t *__restrict__ out,
                            uint16_t *__restrict__ lo, const float *__restrict__ w, int H, float eps) {
    float4 g[NORM_R], v[NORM_R];
    norm_weights(g, w, H);
    port_dep_enter(); // port.h "launching": only the weights read before it
    __shared__ float red[NORM_THREADS / GETP_WAVE];
    const int i = blockIdx.x;
    float *xr = x + (int64_t)i * H; // (H) fp32
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) {
            v[r] = moe_combine_at4(*(const float4 *)(xr + norm_col(r)), ypair, topk_w, i, k, H, norm_col(r));
            *(float4 *)(xr + norm_col(r)) = v[r];
        }
    float ss = 0.0f;
#pragma unroll
    for (int r = 0; r < NORM_R; r++)
        if (norm_col(r) < H) ss = norm_ss4(ss, v[r]);
    for (int c = norm_col(NORM_R); c < H; c += NORM_THREADS * 4) {
        const float4 u = moe_combine_at4(*(const float4 *)(xr + c), ypair, topk_w, i, k, H, c);
        *(float4 *)(xr + c) = u;
        ss = norm_ss4(ss, u);
    }
    norm_finish(ss, red, out, lo, v, g, xr, w, i, H, eps);
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
