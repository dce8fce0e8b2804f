/* router.hip: MoE routing (docs/MODEL.md §2): from the router GEMM's logits (T, E) pick
 * the k largest per token (descending; ties to the lower expert id, exactly
 * as the CPU oracle) and softmax over the k picked logits (in double, like
 * the oracle). One wave per token: each lane holds E / wave logits; k rounds
 * of a wave-wide max over 64-bit keys (order-preserving float bits << 32 |
 * ~id, so equal logits go to the lower id; -0 counts as +0 as `>` does), the
 * winner's lane marks it taken. Lane 0 writes ids and weights.
 *
 * router_fused: the router GEMM and the top-k in one launch, used at every T
 * (the engine's only router path), so a token's logits are the same bits
 * whatever T or its row in the batch by construction. A block takes RB
 * tokens (TILE_M, or fewer when the partials would not fit the shared
 * memory budget: E > 96) and all E experts; K is cut into ROUTER_KS fixed
 * parts of k-steps (part p: steps [p n / KS, (p + 1) n / KS), n = H / 32),
 * one warp each, which runs tile_mma over its steps for every expert tile
 * (chunks of ROUTER_CHUNK experts, one after the other, a ring of U k-steps
 * in flight across chunks). The partial tiles go to shared memory; after a
 * barrier each (token, expert) logit = ((part 0 + part 1) + ... + part KS-1)
 * + bias; precise mode sums the t_lo parts the same way and adds them after
 * (y = W t + b, then y += W t_lo, as matmul_pair_bf16_bf16w). Then the
 * top-k above, one warp per token, from the shared logits. router_fused_sort:
 * when the batch fits one block (T <= 16, or 8 for E = 128), the block also
 * writes moe_sort's outputs, saving that launch at small batches.
 */
#include "kernels.h"
#include "gpu_check.h"
#include "gpu_util.h"
#include "tile.h"

#define ROUTER_THREADS 128
#define ROUTER_MAX_K 16
#define ROUTER_MAX_PER_LANE 8 // E <= 8 * wave

__device__ __forceinline__ unsigned long long router_key(float v, int e) {
    uint32_t u = __float_as_uint(v + 0.0f); // -0 -> +0
    uint32_t ord = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return ((unsigned long long)ord << 32) | (unsigned long long)(0xffffffffu - (uint32_t)e);
}

/* The top-k and softmax of one token's logits g (E), global or shared;
 * called by a whole wave (lane = its lane), lane 0 writes ids (k) and w (k). */
__device__ __forceinline__ void router_topk_row(int32_t *ids, float *w, const float *g, int E, int k,
                                                int lane) {
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
        ids[j] = pick[j];
        w[j] = (float)(ex[j] / sum);
    }
}

__global__ void __launch_bounds__(ROUTER_THREADS)
f32_router_topk(int32_t *ids, float *w, const float *logits, int T, int E, int k) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    const int lane = threadIdx.x % GETP_WAVE;
    const int i = blockIdx.x * (ROUTER_THREADS / GETP_WAVE) + threadIdx.x / GETP_WAVE;
    if (i >= T) return; // whole waves leave together
    router_topk_row(ids + (int64_t)i * k, w + (int64_t)i * k, logits + (int64_t)i * E, E, k, lane);
}

/* ---- router_fused ---- */

#define ROUTER_KS 8                          // K parts: fixed (the reduction order)
#define ROUTER_FUSED_THREADS (ROUTER_KS * GETP_WAVE) // one wave per part
#define ROUTER_CHUNK 32                      // experts a wave accumulates at once
#define ROUTER_OWN 8                         // (token, expert) sums a thread reduces, at most
#define ROUTER_SMEM_MAX (48 * 1024)          // partials: ROUTER_KS * RB * E floats

typedef struct {
    int32_t *ids;
    float *w, *logits;
    const uint16_t *t, *t_lo, *W;
    const float *bias;
    int T, E, H, k, rb;
    int32_t *offsets, *sorted; // not NULL: T <= rb (one block), moe_sort's outputs too
} RouterArgs;

/* One part's partial logits for the block's rows, every expert: part[(p * rb
 * + m) * E + e]. x: t or t_lo. The first U k-steps of W were loaded by the
 * caller into b (PRE) or are loaded here. HALF (rows 8..15 of the tile all
 * dropped): a lane loads its first A row only (as mm_gemv). */
template <int U, bool HALF>
__device__ __forceinline__ void router_part(float *part, const RouterArgs &a, const uint16_t *x,
                                            TileB (&b)[U][ROUTER_CHUNK / TILE_N], bool pre) {
    constexpr int NT = ROUTER_CHUNK / TILE_N;
    const int p = threadIdx.x / GETP_WAVE, m0 = blockIdx.x * a.rb, koff = tile_k_off();
    const int n = a.H / TILE_K, s0 = p * n / ROUTER_KS, ns = (p + 1) * n / ROUTER_KS - s0;
    const int nchunks = (a.E + ROUTER_CHUNK - 1) / ROUTER_CHUNK, total = nchunks * ns;
    const uint16_t *xrow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        xrow[r] = x + (size_t)min(m0 + tile_a_row(r), a.T - 1) * a.H + (size_t)s0 * TILE_K + koff;
    TileA xa[U];
    TileC acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    auto flush = [&](int c) {
#pragma unroll
        for (int t = 0; t < NT; t++)
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int m = tile_c_row(i), e = c * ROUTER_CHUNK + t * TILE_N + tile_c_col(i);
                if (m < a.rb && e < a.E) part[(p * a.rb + m) * a.E + e] = acc[t].c[i];
            }
#pragma unroll
        for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    };
    if (ns == 0) { // H < ROUTER_KS k-steps: this part is empty
        for (int c = 0; c < nchunks; c++) flush(c);
        return;
    }
    /* Load cursor (lc, ls) over the flat sequence of (chunk, step) */
    int lc = 0, ls = 0;
    auto load = [&](int u, bool w_too) {
        if (w_too)
#pragma unroll
            for (int t = 0; t < NT; t++) {
                const int e = min(lc * ROUTER_CHUNK + t * TILE_N + tile_b_row(), a.E - 1);
                b[u][t].v = *(const uint4 *)(a.W + (size_t)e * a.H + (size_t)(s0 + ls) * TILE_K + koff);
            }
#pragma unroll
        for (int r = 0; r < (HALF ? 1 : TILE_A_ROWS); r++)
            xa[u].v[r] = *(const uint4 *)(xrow[r] + (size_t)ls * TILE_K);
        if (++ls == ns) ls = 0, lc++;
    };
#pragma unroll
    for (int u = 0; u < U; u++)
        if (u < total) load(u, !pre);
    int sc = 0, ss = 0; // step cursor
    for (int j0 = 0; j0 < total; j0 += U)
#pragma unroll
        for (int u = 0; u < U; u++)
            if (j0 + u < total) {
#pragma unroll
                for (int r = 1; r < (HALF ? TILE_A_ROWS : 1); r++) xa[u].v[r] = xa[u].v[0];
#pragma unroll
                for (int t = 0; t < NT; t++) tile_mma(&acc[t], &xa[u], &b[u][t]);
                if (++ss == ns) {
                    flush(sc);
                    ss = 0, sc++;
                }
                if (j0 + u + U < total) load(u, true);
            }
}

/* The first U k-steps of W of this wave's part (no kernel writes W: before port_dep_enter). */
template <int U>
__device__ __forceinline__ void router_preload(const RouterArgs &a, TileB (&b)[U][ROUTER_CHUNK / TILE_N]) {
    constexpr int NT = ROUTER_CHUNK / TILE_N;
    const int p = threadIdx.x / GETP_WAVE, koff = tile_k_off();
    const int n = a.H / TILE_K, s0 = p * n / ROUTER_KS, ns = (p + 1) * n / ROUTER_KS - s0;
    const int total = ((a.E + ROUTER_CHUNK - 1) / ROUTER_CHUNK) * ns;
    int lc = 0, ls = 0;
#pragma unroll
    for (int u = 0; u < U; u++)
        if (u < total) {
#pragma unroll
            for (int t = 0; t < NT; t++) {
                const int e = min(lc * ROUTER_CHUNK + t * TILE_N + tile_b_row(), a.E - 1);
                b[u][t].v = *(const uint4 *)(a.W + (size_t)e * a.H + (size_t)(s0 + ls) * TILE_K + koff);
            }
            if (++ls == ns) ls = 0, lc++;
        }
}

/* Sum of the parts of the (token, expert) pairs this thread owns, in part order. */
__device__ __forceinline__ float router_sum_parts(const float *part, int rb, int E, int idx) {
    float s = part[idx];
#pragma unroll
    for (int p = 1; p < ROUTER_KS; p++) s += part[p * rb * E + idx];
    return s;
}

/* moe_sort's outputs (moe.hip) from the one block's ids: offsets (E+1) the
 * exclusive scan of the counts, sorted (T k) the pair ids grouped by expert,
 * in increasing pair id within an expert (the stable counting sort: the same
 * array moe_sort writes). sh: (E + 1 + T k) ints of shared memory no longer read. */
__device__ __forceinline__ void router_sort(const RouterArgs &a, int *sh) {
    const int P = a.T * a.k, tid = threadIdx.x;
    int *run = sh, *sid = sh + a.E + 1;
    __syncthreads(); // the top-k's ids are written (global, this block) and the logits read
    for (int q = tid; q < P; q += ROUTER_FUSED_THREADS) sid[q] = a.ids[q];
    __syncthreads();
    for (int e = tid; e < a.E; e += ROUTER_FUSED_THREADS) {
        int c = 0;
        for (int q = 0; q < P; q++) c += sid[q] == e;
        run[e] = c;
    }
    __syncthreads();
    if (tid == 0) {
        int acc = 0;
        for (int e = 0; e < a.E; e++) {
            const int c = run[e];
            a.offsets[e] = run[e] = acc;
            acc += c;
        }
        a.offsets[a.E] = acc;
    }
    __syncthreads();
    for (int q = tid; q < P; q += ROUTER_FUSED_THREADS) {
        const int e = sid[q];
        int r = 0;
        for (int j = 0; j < q; j++) r += sid[j] == e;
        a.sorted[run[e] + r] = q;
    }
}

template <int U, bool HALF>
__global__ void __launch_bounds__(ROUTER_FUSED_THREADS)
router_fused_kernel(RouterArgs a) {
    extern __shared__ float part[]; // (ROUTER_KS, rb, E) partials; then (rb, E) logits in part 0
    TileB b[U][ROUTER_CHUNK / TILE_N];
    router_preload<U>(a, b);
    port_dep_enter(); // port.h "launching": the activations and every write after it
    const int tid = threadIdx.x, m0 = blockIdx.x * a.rb, RE = a.rb * a.E;
    router_part<U, HALF>(part, a, a.t, b, true);
    __syncthreads();
    float y[ROUTER_OWN];
#pragma unroll
    for (int i = 0; i < ROUTER_OWN; i++) {
        const int idx = tid + i * ROUTER_FUSED_THREADS;
        y[i] = idx < RE ? router_sum_parts(part, a.rb, a.E, idx) + a.bias[idx % a.E] : 0.0f;
    }
    if (a.t_lo) { // block-uniform
        __syncthreads(); // every sum read before the lo parts overwrite them
        router_part<U, HALF>(part, a, a.t_lo, b, false);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < ROUTER_OWN; i++) {
            const int idx = tid + i * ROUTER_FUSED_THREADS;
            if (idx < RE) y[i] += router_sum_parts(part, a.rb, a.E, idx);
        }
    }
    /* part 0 slot idx is read and written by its owner only: no barrier before */
#pragma unroll
    for (int i = 0; i < ROUTER_OWN; i++) {
        const int idx = tid + i * ROUTER_FUSED_THREADS;
        if (idx < RE) {
            part[idx] = y[i];
            if (a.logits && m0 + idx / a.E < a.T) a.logits[(size_t)m0 * a.E + idx] = y[i];
        }
    }
    __syncthreads();
    const int lane = tid % GETP_WAVE;
    for (int m = tid / GETP_WAVE; m < a.rb && m0 + m < a.T; m += ROUTER_KS)
        router_topk_row(a.ids + (size_t)(m0 + m) * a.k, a.w + (size_t)(m0 + m) * a.k, part + m * a.E,
                        a.E, a.k, lane);
    if (a.offsets) router_sort(a, (int *)part); // block-uniform
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

/* Tokens a block takes: TILE_M unless the partials would pass the shared
 * memory budget (E > 96), then halves. Any choice gives the same bits. */
static int router_rows(int E) {
    int rb = TILE_M;
    while (rb > 1 && (size_t)ROUTER_KS * rb * E * sizeof(float) > ROUTER_SMEM_MAX) rb /= 2;
    return rb;
}

static int router_launch(int32_t *ids, float *w, float *logits, const uint16_t *t,
                         const uint16_t *t_lo, const uint16_t *W, const float *bias, int T, int E,
                         int H, int k, int32_t *offsets, int32_t *sorted, hipStream_t st) {
    CHECK(k >= 1 && k <= ROUTER_MAX_K && k <= E && T >= 0 && bias);
    CHECK(E <= ROUTER_MAX_PER_LANE * GETP_WAVE);
    CHECK(H >= TILE_K && H % TILE_K == 0);
    CHECK(((uintptr_t)t % 16) == 0 && ((uintptr_t)W % 16) == 0 && ((uintptr_t)t_lo % 16) == 0);
    if (T == 0) return 0;
    const int rb = router_rows(E);
    const int sort = offsets && sorted && T <= rb;
    CHECK(rb * E <= ROUTER_OWN * ROUTER_FUSED_THREADS);
    const size_t smem = (size_t)ROUTER_KS * rb * E * sizeof(float);
    const RouterArgs a = {ids, w, logits, t, t_lo, W, bias, T, E, H, k, rb,
                          sort ? offsets : NULL, sort ? sorted : NULL};
    const int grid = (T + rb - 1) / rb;
    /* rows 8..15 of every tile dropped (rb <= 8) or past T: one A row a lane, U = 8 */
    if (rb <= TILE_M / 2 || T <= TILE_M / 2)
        port_launch(router_fused_kernel<8, true>, grid, ROUTER_FUSED_THREADS, smem, st, a);
    else
        port_launch(router_fused_kernel<4, false>, grid, ROUTER_FUSED_THREADS, smem, st, a);
    GPU_CHECK_LAUNCH();
    return sort;
}

void router_fused(int32_t *ids, float *w, float *logits, const uint16_t *t, const uint16_t *t_lo,
                  const uint16_t *W, const float *bias, int T, int E, int H, int k, hipStream_t st) {
    router_launch(ids, w, logits, t, t_lo, W, bias, T, E, H, k, NULL, NULL, st);
}

int router_fused_sort(int32_t *ids, float *w, float *logits, const uint16_t *t, const uint16_t *t_lo,
                      const uint16_t *W, const float *bias, int T, int E, int H, int k,
                      int32_t *expert_offsets, int32_t *sorted_pairs, hipStream_t st) {
    return router_launch(ids, w, logits, t, t_lo, W, bias, T, E, H, k, expert_offsets, sorted_pairs,
                         st);
}
