/* convert.hip: weight conversions done on the GPU while loading, so the host
 * only copies bytes from the mmap into pinned staging (no per-element host
 * work): fp32 -> bf16 (dense weights of fp32 .bin files), bf16 -> fp32 (small
 * vectors: norms, biases, sinks), and re-encoding of .bin expert weights into
 * MXFP4 (docs/MODEL.md §3b) when every group of 32 values is exactly representable.
 *
 * MXFP4 encode of one group: its values must be c_j * 2^k with c_j in
 * {0, .5, 1, 1.5, 2, 3, 4, 6} (signed). The smallest k with max|v| <= 6 * 2^k
 * is the only one to try: the grid of k+1 restricted to [0, 6 * 2^k] is a
 * subset of the grid of k. If any value is off the grid (or k is out of the
 * u8 scale's range) the group, hence the tensor, is flagged.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define CONVERT_THREADS 256

__global__ void f32_to_bf16_kernel(uint16_t *dst, const float *src, int64_t n) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    for (int64_t i = blockIdx.x * (int64_t)CONVERT_THREADS + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * CONVERT_THREADS)
        dst[i] = f32_to_bf16_dev(src[i]);
}

__global__ void bf16_to_f32_kernel(float *dst, const uint16_t *src, int64_t n) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    for (int64_t i = blockIdx.x * (int64_t)CONVERT_THREADS + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * CONVERT_THREADS)
        dst[i] = bf16_to_f32_dev(src[i]);
}

/* Code of |v| / 2^k on the MXFP4 grid, or -1 if off the grid. */
__device__ __forceinline__ int mxfp4_code(float a) {
    const float grid[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
    int code = -1; // selects, not branches: no exec-mask bookkeeping when unrolled
#pragma unroll
    for (int c = 0; c < 8; c++) code = a == grid[c] ? c : code;
    return code;
}

__global__ void encode_mxfp4_kernel(uint8_t *blocks, uint8_t *scales, const void *src,
                                    int src_is_f32, int64_t n_groups, int *bad) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    for (int64_t gi = blockIdx.x * (int64_t)CONVERT_THREADS + threadIdx.x; gi < n_groups;
         gi += (int64_t)gridDim.x * CONVERT_THREADS) {
        /* fully unrolled, no early exit: v and out stay in registers (no scratch) */
        float v[32];
        if (src_is_f32) { // a group is 128 (f32) or 64 (bf16) aligned bytes: vector loads
            const float4 *p = (const float4 *)src + gi * 8;
#pragma unroll
            for (int q = 0; q < 8; q++) {
                const float4 f = p[q];
                v[4 * q] = f.x, v[4 * q + 1] = f.y, v[4 * q + 2] = f.z, v[4 * q + 3] = f.w;
            }
        } else {
            const uint4 *p = (const uint4 *)src + gi * 4;
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const uint4 u = p[q];
                const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
                for (int h = 0; h < 8; h++)
                    v[8 * q + h] = bf16_to_f32_dev((uint16_t)(w[h / 2] >> (16 * (h % 2))));
            }
        }
        float mx = 0.0f;
#pragma unroll
        for (int j = 0; j < 32; j++) mx = fmaxf(mx, fabsf(v[j]));
        int k = 0, ok = isfinite(mx);
        if (ok && mx > 0.0f) {
            k = (int)ceilf(log2f(mx / 6.0f));
            if (ldexpf(6.0f, k - 1) >= mx) k--; // guard log2f rounding up
            if (ldexpf(6.0f, k) < mx) k++;      // guard log2f rounding down
        }
        ok = ok && k >= -127 && k <= 127;
        uint32_t out[4] = {0u, 0u, 0u, 0u};
#pragma unroll
        for (int j = 0; j < 32; j++) {
            const int c = mxfp4_code(fabsf(ldexpf(v[j], -k)));
            ok = ok && c >= 0;
            out[j / 8] |= (uint32_t)((c & 7) + (signbit(v[j]) ? 8 : 0)) << (4 * (j % 8));
        }
        if (!ok) {
            *bad = 1;
            continue;
        }
#pragma unroll
        for (int j = 0; j < 16; j++) blocks[gi * 16 + j] = (uint8_t)(out[j / 4] >> (8 * (j % 4)));
        scales[gi] = (uint8_t)(k + 127);
    }
}

static int convert_grid(int64_t n) {
    int64_t b = (n + CONVERT_THREADS - 1) / CONVERT_THREADS;
    return (int)(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

void convert_f32_to_bf16(uint16_t *dst, const float *src, int64_t n, hipStream_t stream) {
    if (n <= 0) return;
    port_launch(f32_to_bf16_kernel, convert_grid(n), CONVERT_THREADS, 0, stream, dst, src, n);
    GPU_CHECK_LAUNCH();
}

void convert_bf16_to_f32(float *dst, const uint16_t *src, int64_t n, hipStream_t stream) {
    if (n <= 0) return;
    port_launch(bf16_to_f32_kernel, convert_grid(n), CONVERT_THREADS, 0, stream, dst, src, n);
    GPU_CHECK_LAUNCH();
}

void encode_mxfp4(uint8_t *blocks, uint8_t *scales, const void *src, int src_is_f32,
                  int64_t n_groups, int *bad, hipStream_t stream) {
    if (n_groups <= 0) return;
    port_launch(encode_mxfp4_kernel, convert_grid(n_groups), CONVERT_THREADS, 0, stream,
        blocks, scales, src, src_is_f32, n_groups, bad);
    GPU_CHECK_LAUNCH();
}
