/* router.hip: MoE routing (SPEC 2): from the router GEMM's logits (T, E) pick
 * the k largest per token (descending; ties to the lower expert id, exactly
 * as the CPU oracle) and softmax over the k picked logits (in double, like
 * the oracle). E and k are small (32 or 128, 4): one thread per token scans
 * its row k times; the cost is nothing next to the GEMMs around it.
 */
#include "ops_gpu.h"
#include "gpu_check.h"
#include "gpu_util.h"

#define ROUTER_THREADS 128
#define ROUTER_MAX_K 16

__global__ void f32_router_topk(int32_t *ids, float *w, const float *logits, int T, int E,
                                int k) {
    const int i = blockIdx.x * ROUTER_THREADS + threadIdx.x;
    if (i >= T) return;
    const float *g = logits + (int64_t)i * E; // (E) fp32
    int32_t pick[ROUTER_MAX_K];
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < E; e++) {
            bool taken = false;
            for (int q = 0; q < j; q++) taken |= (pick[q] == e);
            if (taken) continue;
            if (best < 0 || g[e] > g[best]) best = e; // strict: ties keep the lower id
        }
        pick[j] = best;
    }
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
    if (T == 0) return;
    f32_router_topk<<<(T + ROUTER_THREADS - 1) / ROUTER_THREADS, ROUTER_THREADS, 0, stream>>>(
        ids, w, logits, T, E, k);
    GPU_CHECK_LAUNCH();
}
