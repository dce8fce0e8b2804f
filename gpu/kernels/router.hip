/* router.hip: MoE routing (docs/MODEL.md §2): from the router GEMM's logits (T, E) pick
 * the k largest per token (descending; ties to the lower expert id, exactly
 * as the CPU oracle) and softmax over the k picked logits (in double, like
 * the oracle). One wave per token: each lane holds E / wave logits; k rounds
 * of a wave-wide max over 64-bit keys (order-preserving float bits << 32 |
 * ~id, so equal logits go to the lower id; -0 counts as +0 as `>` does), the
 * winner's lane marks it taken. Lane 0 writes ids and weights.
 * route_topk_sort: the top-k and moe_sort in one launch up to
 * ROUTE_FUSED_MAX_T tokens (kernels.h), the two kernels past it; up to a
 * wave of (token, pick) pairs (batch 1-8 at k = 4 on NVIDIA, 1-16 on AMD)
 * that launch is a wave a token and the sort by one wave's shuffles
 * (f32_route_wave).
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"
#include "moe_sort.h" // moe_sort_block, MOE_SORT_THREADS

#define ROUTER_THREADS 128
#define ROUTER_MAX_K 16
#define ROUTER_MAX_PER_LANE 8 // E <= 8 * wave

__device__ __forceinline__ unsigned long long router_key(float v, int e) {
    uint32_t u = __float_as_uint(v + 0.0f); // -0 -> +0
    uint32_t ord = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((unsigned long long)ord << 32) | (unsigned long long)(0xffffffffu - (uint32_t)e);
}

/* Token i's top-k by one whole wave (and, given picks, pick r's expert also
 * at picks[r]: f32_route_wave's shared copy). */
__device__ __forceinline__ void router_topk_row(int32_t *ids, float *w, const float *logits, int i, int E,
                                                int k, int *picks = NULL) {
    const int lane = threadIdx.x % GETP_WAVE;
    const float *g = logits + (int64_t)i * E; // (E) fp32
    unsigned long long key[ROUTER_MAX_PER_LANE];
#pragma unroll
    for (int j = 0; j < ROUTER_MAX_PER_LANE; j++) {
        const int e = lane + j * GETP_WAVE;
        key[j] = e < E ? router_key(g[e], e) : 0ull;
    }
    int32_t *idr = ids + (int64_t)i * k; // lane 0 writes the picks as they come
    /* Each pick's logit decoded from its key (router_key's map undone; -0
     * comes back as +0, which changes no exp below): lane r keeps pick r's,
     * so the softmax reads nothing back from memory (reading its own writes
     * back, as before, put ~16 dependent loads and 2k serial exps into every
     * token's tail). */
    float mx = 0.0f, vj = 0.0f;
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
        const uint32_t ord = (uint32_t)(best >> 32);
        const float val = __uint_as_float((ord & 0x80000000u) ? ord & 0x7fffffffu : ~ord);
        if (r == 0) mx = val;
        if (lane == r) vj = val;
        if (lane == 0) idr[r] = e;
        if (picks && lane == 0) picks[r] = e;
#pragma unroll
        for (int j = 0; j < ROUTER_MAX_PER_LANE; j++)
            if (lane + j * GETP_WAVE == e) key[j] = 0ull; // taken
    }
    /* softmax over the picks: lane j < k takes pick j's exp, every lane sums
     * them in pick order, lane j writes weight j */
    const double ex = exp((double)vj - (double)mx);
    double sum = 0.0;
    for (int j = 0; j < k; j++) sum += GETP_SHFL(ex, j);
    if (lane < k) w[(int64_t)i * k + lane] = (float)(ex / sum);
}

__global__ void __launch_bounds__(ROUTER_THREADS)
f32_router_topk(int32_t *ids, float *w, const float *logits, int T, int E, int k) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    const int i = blockIdx.x * (ROUTER_THREADS / GETP_WAVE) + threadIdx.x / GETP_WAVE;
    if (i >= T) return; // whole waves leave together
    router_topk_row(ids, w, logits, i, E, k);
}

/* Small batches: the top-k of every token (a wave a token in turn), then,
 * after a barrier, the sort of moe_sort (moe_sort.h), in one block: one launch
 * instead of two, the same ids, weights, offsets and order. */
__global__ void __launch_bounds__(MOE_SORT_THREADS)
f32_route_fused(int32_t *ids, float *w, const float *logits, int T, int E, int k, int32_t *offsets,
                int32_t *sorted) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    for (int i = threadIdx.x / GETP_WAVE; i < T; i += MOE_SORT_THREADS / GETP_WAVE)
        router_topk_row(ids, w, logits, i, E, k);
    __syncthreads(); // the block's global writes of ids are visible to it after the barrier
    moe_sort_block(ids, T * k, E, offsets, sorted);
}

/* At most a wave of (token, pick) pairs and ROUTE_WAVE_MAX_T tokens: wave i
 * the top-k of token i (as f32_route_fused), its picks also into shared
 * memory; after one barrier wave 0 takes pair p's expert into lane p and
 * does moe_sort's stable counting sort by shuffles: offsets[e] = the pairs on
 * experts below e, pair p at offsets[its expert] + the pairs before p there.
 * One barrier, no ids read back from global memory: the same outputs as
 * f32_route_fused (run 63's ncustep: that block of 1,024 threads took 7.6 us
 * a layer for one token; run 85: one wave doing the tokens' top-k in turn
 * gained at one token and lost 3.9% at 8; run 86, a wave a token: batch 2-8
 * +0.4..+0.9% over the block). */
#define ROUTE_WAVE_MAX_T 16
__global__ void __launch_bounds__(ROUTE_WAVE_MAX_T * GETP_WAVE)
f32_route_wave(int32_t *ids, float *w, const float *logits, int T, int E, int k, int32_t *offsets,
               int32_t *sorted) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    __shared__ int picks[GETP_WAVE];
    const int lane = threadIdx.x % GETP_WAVE, wv = threadIdx.x / GETP_WAVE, P = T * k;
    router_topk_row(ids, w, logits, wv, E, k, picks + wv * k); // a wave a token (blockDim: T waves)
    __syncthreads();
    if (wv != 0) return;
    const int mine = lane < P ? picks[lane] : E; // a lane past the pairs counts on no expert
    for (int e0 = 0; e0 <= E; e0 += GETP_WAVE) {
        const int e = e0 + lane;
        int below = 0;
        for (int q = 0; q < P; q++) below += GETP_SHFL(mine, q) < e ? 1 : 0;
        if (e <= E) offsets[e] = below;
    }
    int pos = 0;
    for (int q = 0; q < P; q++) {
        const int o = GETP_SHFL(mine, q);
        pos += (o < mine || (o == mine && q < lane)) ? 1 : 0;
    }
    if (lane < P) sorted[pos] = lane;
}

static void router_check(int T, int E, int k) {
    CHECK(k >= 1 && k <= ROUTER_MAX_K && k <= E && T >= 0);
    CHECK(E <= ROUTER_MAX_PER_LANE * GETP_WAVE);
}

void router_topk_f32(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     hipStream_t stream) {
    router_check(T, E, k);
    if (T == 0) return;
    const int per_block = ROUTER_THREADS / GETP_WAVE;
    port_launch(f32_router_topk, (T + per_block - 1) / per_block, ROUTER_THREADS, 0, stream, ids, w, logits,
                                                                                    T, E, k);
    GPU_CHECK_LAUNCH();
}

void route_topk_sort(int32_t *ids, float *w, const float *logits, int T, int E, int k,
                     int32_t *offsets, int32_t *sorted, int32_t *counts, hipStream_t stream) {
    if (T > ROUTE_FUSED_MAX_T) {
        router_topk_f32(ids, w, logits, T, E, k, stream);
        moe_sort(ids, T, k, E, offsets, sorted, counts, stream);
        return;
    }
    router_check(T, E, k);
    CHECK(T >= 1 && E <= MOE_SORT_MAX_E); // moe_sort's bounds
    if (T * k <= GETP_WAVE && T <= ROUTE_WAVE_MAX_T)
        port_launch(f32_route_wave, 1, T * GETP_WAVE, 0, stream, ids, w, logits, T, E, k, offsets, sorted);
    else
        port_launch(f32_route_fused, 1, MOE_SORT_THREADS, 0, stream, ids, w, logits, T, E, k, offsets, sorted);
    GPU_CHECK_LAUNCH();
}
