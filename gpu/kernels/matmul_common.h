/* matmul_common.h: what the dense GEMM kernels share (matmul.hip,
 * matmul_async.hip): the argument struct, the epilogues (bias, residual, the
 * argmax keys), the block-tile shapes and the k-step every tiled kernel runs.
 * Every output element is accumulated by one wave through tile_mma over
 * k-steps of 32 in increasing order, one fp32 accumulator; with the fixed
 * split of K (MmArgs.klen, below) each part of K is such a chain from zero
 * and the parts' sums are added in part order. Either way a row's result is
 * bit-identical whichever kernel computes it (small W, the routers, excepted:
 * matmul.hip's mm_split, one kernel at every M). */
#ifndef GETP_MATMUL_COMMON_H
#define GETP_MATMUL_COMMON_H

#include "kernels.h"  // the public launchers
#include "tile.h"     // TileA/B/C, tile_mma
#include "gpu_util.h"

struct MmArgs {
    float *y;                    // (M, N)
    const uint16_t *x;           // (M, K)
    const uint16_t *w;           // (N, K)
    const float *bias;           // (N) or NULL
    const float *residual;       // (M, N) or NULL; may alias y
    unsigned long long *keys;    // (M) argmax keys
    int M, N, K;
    int klen;                    // k-steps a part of the fixed split of K; 0: one chain
};

/* ---- the fixed split of K (dense W, the default; matmul.hip's mm_dispatch) ----
 * K's nsteps k-steps are cut into parts of klen steps by N and K alone (so a
 * row's parts are the same at every M): the GEMV runs a warp a part and sums
 * the parts through shared memory (mm_split); the tiles run each part as its
 * own loop over stages and keep the parts before it in a second accumulator
 * set (MmFold). Both add part p's sum to the total of parts 0 .. p-1, in part
 * order, before the epilogue. klen is even, so a part is whole stages of the
 * tiles (KSUB 1 or 2) and the fold sits between two stage loops, not inside
 * the k-step loop (run 67 folded inside it: the tiles lost 17-23% at M =
 * 2,048). A vocabulary-wide W (N >= MM_SPLIT_MAX_N) stays one chain: its
 * columns fill the GPU as they are (run 67: the split LM head + argmax took
 * 472 us a step against ~290). */
#define MM_DENSE_PARTS 4
static inline int mm_dense_klen(int N, int nsteps) {
    if (N >= MM_SPLIT_MAX_N) return 0;
    const int p = nsteps < MM_DENSE_PARTS ? nsteps : MM_DENSE_PARTS;
    const int len = (nsteps + p - 1) / p;
    return len + (len & 1); // whole stages of 2 k-steps: 24/24/24/18 at K = 2,880, 32 x 4 at 4,096
}

/* Does this product run split (more than one part)? */
static inline bool mm_is_split(const MmArgs &a) { return a.klen > 0 && a.klen < a.K / TILE_K; }

/* A warp's running total of the finished parts. end(s) is the k-step after
 * the part holding step s; after each part but the last, add() puts acc into
 * the total (the first part becomes it) and restarts acc from zero; finish()
 * after the last k-step leaves the row's sum in acc. FOLD: 0 one part,
 * nothing kept; 1 the total in registers (a second accumulator set); 2 in
 * shared memory at tot (BM x BN floats a block): element (i, j, e) of thread
 * t at [(i NT + j) 4 + e][t], consecutive threads in consecutive banks, each
 * thread reading back only what it wrote (no barrier), and no registers. */
template <int MT, int NT, int FOLD, int THREADS = 256>
struct MmFold {
    TileC reg[FOLD == 1 ? MT : 1][FOLD == 1 ? NT : 1];
    float *smem;
    int klen; // part length
    __device__ __forceinline__ MmFold(float *tot, int klen_)
        : smem(FOLD == 2 ? tot + threadIdx.x : NULL), klen(klen_) {}
    __device__ __forceinline__ float &tot(int i, int j, int e) {
        if constexpr (FOLD == 2) return smem[((i * NT + j) * 4 + e) * THREADS];
        else return reg[FOLD == 1 ? i : 0][FOLD == 1 ? j : 0].c[e];
    }
    __device__ __forceinline__ int end(int s, int nsteps) const {
        return FOLD ? min(nsteps, (s / klen + 1) * klen) : nsteps;
    }
    __device__ __forceinline__ void add(bool first, TileC (&acc)[MT][NT]) {
        if constexpr (FOLD != 0) {
#pragma unroll
            for (int i = 0; i < MT; i++)
#pragma unroll
                for (int j = 0; j < NT; j++) {
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        tot(i, j, e) = first ? acc[i][j].c[e] : tot(i, j, e) + acc[i][j].c[e];
                    tile_zero(&acc[i][j]);
                }
        }
    }
    __device__ __forceinline__ void finish(int nsteps, TileC (&acc)[MT][NT]) {
        if constexpr (FOLD != 0) {
            if (nsteps <= klen) return;
#pragma unroll
            for (int i = 0; i < MT; i++)
#pragma unroll
                for (int j = 0; j < NT; j++)
#pragma unroll
                    for (int e = 0; e < 4; e++) acc[i][j].c[e] = tot(i, j, e) + acc[i][j].c[e];
        }
    }
};

/* Argmax key of logit v at column n: order-preserving float bits << 32 | ~n,
 * so the largest key is the largest logit, ties to the lower id. A NaN or an
 * infinity gets the largest key of all (MM_KEY_BAD): it wins, and
 * mm_argmax_finish reports the row as -1 (the engine never emits a token
 * from non-finite logits). */
#define MM_KEY_BAD 0xffffffffu
__device__ __forceinline__ unsigned long long mm_argmax_key(float v, int n) {
    uint32_t u = __float_as_uint(v);
    uint32_t ord = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    if ((u & 0x7f800000u) == 0x7f800000u) ord = MM_KEY_BAD;
    return ((unsigned long long)ord << 32) | (unsigned long long)(0xffffffffu - (uint32_t)n);
}

__device__ __forceinline__ void mm_store(const MmArgs &a, int m, int n, float v) {
    if (a.bias) v += a.bias[n];
    size_t i = (size_t)m * a.N + n;
    if (a.residual) v += a.residual[i];
    a.y[i] = v;
}

/* ---- BM x BN block tiles through shared memory ---- */

template <int WARPS_M, int MT_, int KSUB_>
struct MmTiled {
    static constexpr int THREADS = 256;
    static constexpr int NWARP = THREADS / GETP_WAVE;
    static constexpr int WARPS_N = NWARP / WARPS_M;
    static constexpr int MT = MT_;                          // 16-row tiles per warp
    static constexpr int BM = WARPS_M * MT * TILE_M;
    static constexpr int BN = 128;
    static constexpr int NT = BN / WARPS_N / TILE_N;
    static constexpr int KSUB = KSUB_;                      // k-steps per stage
    static constexpr int MINB = (BM + BN) * KSUB > 512 ? 1 : 2;  // blocks/SM (registers)
    static constexpr int A_CHUNKS = KSUB * BM * 4;          // 16-byte chunks
    static constexpr int STAGE = KSUB * (BM + BN) * 4;
    static constexpr size_t SMEM = 2 * (size_t)STAGE * 16;
    static_assert(A_CHUNKS % THREADS == 0 && STAGE % THREADS == 0, "loader split");
    static_assert(NT * WARPS_N * TILE_N == BN, "warp tiling");
};

/* chunk c (0..3) of row r lives at slot c ^ ((r >> 1) & 3) */
__device__ __forceinline__ int mm_swz(int r, int c) { return r * 4 + (c ^ ((r >> 1) & 3)); }

/* One k-step of a warp's MT x NT tiles from a stage's swizzled A (BM rows)
 * and B (BN rows) chunks in shared memory. Every tiled kernel runs this same
 * chain, k-step after k-step: the reduction order of a row never changes. */
template <class C>
__device__ __forceinline__ void mm_kstep(TileC (&acc)[C::MT][C::NT], const uint4 *sa,
                                         const uint4 *sb, int wm, int wn) {
    const int kc = tile_k_off() / 8;
    TileB b[C::NT];
#pragma unroll
    for (int j = 0; j < C::NT; j++)
        b[j].v = sb[mm_swz(wn * (C::NT * TILE_N) + j * TILE_N + tile_b_row(), kc)];
#pragma unroll
    for (int i = 0; i < C::MT; i++) {
        TileA x;
#pragma unroll
        for (int r = 0; r < TILE_A_ROWS; r++)
            x.v[r] = sa[mm_swz(wm * (C::MT * TILE_M) + i * TILE_M + tile_a_row(r), kc)];
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_mma(&acc[i][j], &x, &b[j]);
    }
}

/* Store the block's tile (bias, residual), or with ARGMAX reduce it to one key
 * per row: shared memory first (smem must be free: all stages consumed), then
 * one atomicMax per row into a.keys. */
template <class C, bool ARGMAX>
__device__ __forceinline__ void mm_epilogue(const MmArgs &a, TileC (&acc)[C::MT][C::NT],
                                            uint4 *smem, int m0, int n0, int wm, int wn) {
    constexpr int MT = C::MT;
    const int tid = threadIdx.x;
    if (!ARGMAX) {
#pragma unroll
        for (int i = 0; i < MT; i++)
#pragma unroll
            for (int j = 0; j < C::NT; j++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int m = m0 + wm * (MT * TILE_M) + i * TILE_M + tile_c_row(e);
                    int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(e);
                    if (m < a.M && n < a.N) mm_store(a, m, n, acc[i][j].c[e]);
                }
        return;
    }
    /* argmax: per-row keys in shared memory (the stage buffers are free now) */
    unsigned long long *skey = (unsigned long long *)smem;
    for (int r = tid; r < C::BM; r += C::THREADS) skey[r] = 0ull;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            int mloc = wm * (MT * TILE_M) + i * TILE_M + tile_c_row(e);
            unsigned long long best = 0ull;
#pragma unroll
            for (int j = 0; j < C::NT; j++) {
                int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(e);
                if (n < a.N) {
                    unsigned long long k = mm_argmax_key(acc[i][j].c[e], n);
                    best = k > best ? k : best;
                }
            }
            if (m0 + mloc < a.M && best) atomicMax(&skey[mloc], best);
        }
    __syncthreads();
    for (int r = tid; r < C::BM; r += C::THREADS)
        if (m0 + r < a.M) atomicMax(&a.keys[m0 + r], skey[r]);
}

#endif
