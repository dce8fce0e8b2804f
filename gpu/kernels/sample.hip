/* sample.hip: greedy selection for rows of full logits, argmax with ties to
 * the lower id (sampler.h). The engine's steps use the fused matmul_argmax
 * (logits never written); this kernel is what `getp --selftest` checks that
 * fused path's tie rule against, and what a caller holding full logits uses.
 *
 * Non-greedy sampling (temperature > 0, top-p) runs on the host with
 * sample_token() (sampler.c) on the row copied back: reproducing its exact
 * double-precision nucleus order and sums on the device would cost a full
 * sort per row; only the requests that ask for sampling pay the copy.
 *
 * One block per row: each thread keeps its best (value, id) over a strided
 * walk, then waves and the block combine with the same comparison, so the
 * result is exact and independent of the block shape. NaN never wins over a
 * number.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define ARGMAX_THREADS 256

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

__global__ void f32_argmax_rows(int32_t *ids, const float *logits, int V) {
    __shared__ float red_v[ARGMAX_THREADS / GETP_WAVE];
    __shared__ int red_i[ARGMAX_THREADS / GETP_WAVE];
    const float *row = logits + (int64_t)blockIdx.x * V; // (V) fp32
    float bv = -INFINITY;
    int bi = V; // sentinel: loses every tie
    for (int c = threadIdx.x; c < V; c += ARGMAX_THREADS) {
        float v = row[c];
        if (isnan(v)) v = -INFINITY;
        if (better(v, c, bv, bi)) { bv = v; bi = c; }
    }
    for (int o = GETP_WAVE / 2; o > 0; o >>= 1) {
        const float ov = GETP_SHFL_XOR(bv, o);
        const int oi = GETP_SHFL_XOR(bi, o);
        if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; }
    }
    const int lane = threadIdx.x % GETP_WAVE, wave = threadIdx.x / GETP_WAVE;
    if (lane == 0) { red_v[wave] = bv; red_i[wave] = bi; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < ARGMAX_THREADS / GETP_WAVE; w++)
            if (better(red_v[w], red_i[w], bv, bi)) { bv = red_v[w]; bi = red_i[w]; }
        ids[blockIdx.x] = bi < V ? bi : 0; // all NaN / -inf: id 0
    }
}

void argmax_rows_f32(int32_t *ids, const float *logits, int S, int V, hipStream_t stream) {
    CHECK(S >= 0 && V > 0);
    if (S == 0) return;
    f32_argmax_rows<<<S, ARGMAX_THREADS, 0, stream>>>(ids, logits, V);
    GPU_CHECK_LAUNCH();
}
