/* norm.hip: RMSNorm, out = x / sqrt(mean(x^2) + eps) * w (docs/MODEL.md §2),
 * from the fp32 residual stream to the bf16 activations that the next GEMM
 * reads. One block per row: the sum of squares is reduced in a fixed order (per-thread
 * strided partials, then waves, then the block), so a row's result depends on
 * that row alone (batch invariance). `rows` lets the final norm gather only
 * the tokens that sample. Precise mode also writes the bf16 remainder `lo`.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define NORM_THREADS 256

__global__ void f32_rmsnorm_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                                    const int32_t *rows, int H, float eps) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ float red[NORM_THREADS / GETP_WAVE];
    const int i = blockIdx.x;
    const int src_row = rows ? rows[i] : i;
    const float *xr = x + (int64_t)src_row * H; // (H) fp32
    uint16_t *o = out + (int64_t)i * H;         // (H) bf16
    float ss = 0.0f;
    for (int c = threadIdx.x * 4; c < H; c += NORM_THREADS * 4) {
        float4 v = *(const float4 *)(xr + c);
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    ss = block_sum<NORM_THREADS>(ss, red);
    const float scale = 1.0f / sqrtf(ss / (float)H + eps);
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
            *(ushort4 *)(lo + (int64_t)i * H + c) = q;
        }
    }
}

void rmsnorm_f32_bf16out(uint16_t *out, uint16_t *lo, const float *x, const float *w,
                         const int32_t *rows, int T, int H, float eps, hipStream_t stream) {
    CHECK(H % 4 == 0 && T >= 0);
    if (T == 0) return;
    port_launch(f32_rmsnorm_bf16out, T, NORM_THREADS, 0, stream, out, lo, x, w, rows, H, eps);
    GPU_CHECK_LAUNCH();
}
