/* router.hip: MoE routing (docs/MODEL.md §2): from the router GEMM's logits (T, E) pick
 * the k largest per token (descending; ties to the lower expert id, exactly
 * as the CPU oracle) and softmax over the k picked logits (in double, like
 * the oracle). One wave per token: each lane holds E / wave logits; k rounds
 * of a wave-wide max over 64-bit keys (order-preserving float bits << 32 |
 * ~id, so equal logits go to the lower id; -0 counts as +0 as `>` does), the
 * winner's lane marks it taken. Lane 0 writes ids and weights.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define ROUTER_THREADS 128
#define ROUTER_MAX_K 16
#define ROUTER_MAX_PER_LANE 8 // E <= 8 * wave

__device__ __forceinline__ unsigned long long router_key(float v, int e) {
    uint32_t u = __float_as_uint(v + 0.0f); // -0 -> +0
    uint32_t ord = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((unsigned long long)ord << 32) | (unsigned long long)(0xffffffffu - (uint32_t)e);
}

__global__ void __launch_bounds__(ROUTER_THREADS)
f32_router_topk(int32_t *ids, float *w, const float *logits, int T, int E, int k) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    const int lane = threadIdx.x % GETP_WAVE;
    const int i = blockIdx.x * (ROUTER_THREADS / GETP_WAVE) + threadIdx.x / GETP_WAVE;
    if (i >= T) return; // whole waves leave together
    const float *g = logits + (int64_t)i * E; // (E) fp32
    unsigned long long key[ROUTER_MAX_PER_LANE];
#pragma unroll
    for (int j = 0; j < ROUTER_MAX_PER_LANE; j++) {
        const int e = lane + j * GETP_WAVE;
        key[j] = e < E ? router_key(g[e], e) : 0ull;
    }
    int32_t pick[ROUTER_MAX_K];
    for (int r = 0; r < k; r++) {
        unsigned long long best = 0ull;
#pragma unroll
        for (int j = 0; j < ROUTER_MAX_PER_LANE; j++) best = key[j] > best ? key[j] : best;
#pragma unroll
        for (int o = GETP_WAVE / 2; o > 0; o >>= 1) {
            unsigned long long other = GETP_SHFL_XOR(best, o);
            best = other > best ? other : best;
        }
        const int e = (int)(0xffffffffu - (uint32_t)(best & 0xffffffffull));
        pick[r] = e;
#pragma unroll
        for (int j = 0; j < ROUTER_MAX_PER_LANE; j++)
            if (lane + j * GETP_WAVE == e) key[j] = 0ull; // taken
    }
    if (lane != 0) return;
    double mx = g[pick[0]], sum = 0.0, ex[ROUTER_MAX_K];
    for (int j = 0; j < k; j++) {
        ex[j] = exp((double)g[pick[j]] - mx);
        sum += ex[j];
    }
    for (int j = 0; j < k; j++) {
        ids[(int64_t)i * k + j] = pick[j];
        w[(int64_t)i * k + j] = (float)(ex[j] / sum);
    }
}

void router_topk_f32(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     hipStream_t stream) {
    CHECK(k >= 1 && k <= ROUTER_MAX_K && k <= E && T >= 0);
    CHECK(E <= ROUTER_MAX_PER_LANE * GETP_WAVE);
    if (T == 0) return;
    const int per_block = ROUTER_THREADS / GETP_WAVE;
    port_launch(f32_router_topk, (T + per_block - 1) / per_block, ROUTER_THREADS, 0, stream, ids, w, logits,
                                                                                    T, E, k);
    GPU_CHECK_LAUNCH();
}
