/* matmul.hip: the dense GEMMs (QKV, attention output, router, unembedding):
 * y(M, N) = x(M, K) bf16 @ W(N, K)^T bf16 + bias [+ residual], fp32 out, and
 * the unembedding fused with argmax (logits never written).
 *
 * Two portable kernels, one arithmetic (matmul_common.h); the fast NVIDIA
 * build adds a cp.async-fed version of the tiled one (matmul_async.hip,
 * behind extras.h's hook). Every output element is accumulated by warps
 * through tile_mma (tile.h) over k-steps of 32 in increasing order in fixed
 * parts of K, each part one fp32 chain from zero, the parts summed in part
 * order; so a row's result is bit-identical whether it is computed by the
 * small-M kernel or the tiled one, alone or in a batch. The parts: for small
 * W (the routers) about 6 k-steps each, by one kernel (mm_split) at every M;
 * for the other dense W 4 parts of whole stages (matmul_common.h's dense
 * split, the default since run 82): mm_split at M <= 16, the tiles keeping the
 * finished parts' total (in registers in mm_tiled, in shared memory in the
 * fast build's mm_async); the vocabulary-wide W (and every W under
 * GETP_KSPLIT=0) one chain.
 *  - mm_gemv (M <= 16): bandwidth bound; each warp
 *    streams NT tiles of W rows straight from global memory (16-byte loads,
 *    a ring of U k-steps kept in flight: 16 when M <= 8 and a lane needs one
 *    A row, else 8) and reads x (hot in L1/L2) the same way; grid.y
 *    walks 16-row groups; rows >= M are clamped reads whose results are dropped.
 *  - mm_tiled (larger M): BM x 128 block tiles, the operands staged through
 *    shared memory, double buffered through registers (KSUB k-steps a stage),
 *    16-byte chunks XOR-swizzled against bank conflicts.
 *  - mm_split (W <= 1 MB, every M): a block of P warps a 16-row group and
 *    column group, warp p the p-th part of K.
 * Argmax: each block reduces its tile to one (value, id) key per row in
 * shared memory, then one 64-bit atomicMax per row into a key array; a tiny
 * pass turns keys into ids. Key = order-preserving float bits << 32 | ~id,
 * so ties go to the lower id.
 */
#include "matmul_common.h" // MmArgs, MmTiled, mm_kstep, mm_epilogue
#include "extras.h"        // mm_gemm_extra
#include "gpu_check.h"

/* ---- small M or small N: one warp = NT tiles of TILE_N weight rows x one
 * 16-row group (blockIdx.y) ---- */

#define MM_GEMV_THREADS 128

/* One warp's chain: NT tiles of TILE_N weight rows from n0 against the
 * 16-row group m0, over the k-steps [s0, s0 + nsteps) in order, into acc
 * (zeroed here). A ring of U k-steps: step s's slot is refilled with step
 * s + U right after s's mma, so U loads stay in flight while the chain runs
 * (the chain, ~2 dependent MMAs a step, is as long as the loads' wait). The
 * weights' first U steps are fetched before port_dep_enter (no kernel writes
 * them), so they arrive while the kernel before this one ends; then enter(),
 * the caller's port_dep_enter() and what it must do past the wait (the launch
 * contract stays in each kernel's body: tests/gpu/check_launches.sh), then the
 * activations. A warp that is not live only calls enter(). HALF (M <= 8): one
 * A row a lane. */
template <int NT, int U, bool HALF, class Enter>
__device__ __forceinline__ void mm_chain(const MmArgs &a, int m0, int n0, int s0, int nsteps, bool live,
                                         TileC (&acc)[NT], Enter &&enter) {
    const int koff = tile_k_off() + s0 * TILE_K;
    const uint16_t *xrow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        xrow[r] = a.x + (size_t)min(m0 + tile_a_row(r), a.M - 1) * a.K + koff;
    const uint16_t *wrow[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        wrow[t] = a.w + (size_t)min(n0 + t * TILE_N + tile_b_row(), a.N - 1) * a.K + koff;
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    TileB b[U][NT];
    TileA x[U];
    auto load_w = [&](int u, int s) {
#pragma unroll
        for (int t = 0; t < NT; t++) b[u][t].v = *(const uint4 *)(wrow[t] + (size_t)s * TILE_K);
    };
    auto load_x = [&](int u, int s) {
#pragma unroll
        for (int r = 0; r < (HALF ? 1 : TILE_A_ROWS); r++)
            x[u].v[r] = *(const uint4 *)(xrow[r] + (size_t)s * TILE_K);
    };
    if (live)
#pragma unroll
        for (int u = 0; u < U; u++)
            if (u < nsteps) load_w(u, u);
    enter(); // port_dep_enter(): the activations and every write after it
    if (!live) return;
#pragma unroll
    for (int u = 0; u < U; u++)
        if (u < nsteps) load_x(u, u);
    auto load = [&](int u, int s) {
        load_w(u, s);
        load_x(u, s);
    };
    auto step = [&](int u) {
#pragma unroll
        for (int r = 1; r < (HALF ? TILE_A_ROWS : 1); r++) x[u].v[r] = x[u].v[0];
#pragma unroll
        for (int t = 0; t < NT; t++) tile_mma(&acc[t], &x[u], &b[u][t]);
    };
    tile_ring_loaded<U>(nsteps, load, step);
}

/* HALF (M <= 8: rows 8..15 of the 16-row tile are past M and dropped): a lane
 * loads only its first A row and passes it for the others too, which frees
 * the registers for U = 16 k-steps of W in flight instead of 8 (a row's result
 * depends on that row's A alone: the kept rows' bits do not change). */
template <int NT, int U, bool ARGMAX, bool HALF = false, int WARPS = MM_GEMV_THREADS / GETP_WAVE>
__global__ void __launch_bounds__(WARPS * GETP_WAVE)
mm_gemv_bf16_bf16w(MmArgs a) {
    __shared__ unsigned long long skey[TILE_M];
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = (blockIdx.x * WARPS + warp) * NT * TILE_N;
    const int m0 = blockIdx.y * TILE_M;
    TileC acc[NT];
    mm_chain<NT, U, HALF>(a, m0, n0, 0, a.K / TILE_K, n0 < a.N, acc, [&] {
        port_dep_enter(); // port.h "launching"
        if (ARGMAX) {
            if (threadIdx.x < TILE_M) skey[threadIdx.x] = 0ull;
            __syncthreads();
        }
    });
#pragma unroll
    for (int t = 0; t < NT; t++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int m = m0 + tile_c_row(i), n = n0 + t * TILE_N + tile_c_col(i);
            if (m < a.M && n < a.N) {
                if (ARGMAX) atomicMax(&skey[m - m0], mm_argmax_key(acc[t].c[i], n));
                else mm_store(a, m, n, acc[t].c[i]);
            }
        }
    }
    if (ARGMAX) {
        __syncthreads();
        if (threadIdx.x < TILE_M && m0 + (int)threadIdx.x < a.M)
            atomicMax(&a.keys[m0 + threadIdx.x], skey[threadIdx.x]);
    }
}

/* ---- a fixed split of K: the small W (the routers, 0.18 / 0.74 MB) at every
 * M, and the dense W at M <= 16 under the dense split (the default) ----
 * One warp's chain of 90 k-steps is what a 32 x 2880 router costs at any M
 * (bench/RESULTS.md runs 31-43: ~13 us for 0.18 MB, a plain read's 4.3).
 * Here K's nsteps k-steps are cut into P parts of len steps, by the weight's
 * shape alone (mm_split_parts for the routers, mm_dense_klen for the dense
 * W), each part one warp's chain from zero; the block sums the parts in part
 * order (part 0 + part 1 + ...) through shared memory, then the epilogue. A
 * block holds G column groups of P warps each (the launchers give G = 1; with
 * more, one key atomic a row serves G groups). Other bits than mm_gemv's single chain,
 * but the same bits for a row at every M, NT, G and grid: every small-W
 * product goes through this kernel (mm_dispatch), and the tiles reproduce the
 * dense parts (MmFold). HALF as mm_gemv's. */
#define MM_SPLIT_MAX 16 // warps a block (G x P)

static inline int mm_split_parts(int nsteps, int *len) {
    int p = (nsteps + 5) / 6; // parts of about 6 k-steps
    if (p > MM_SPLIT_MAX) p = MM_SPLIT_MAX;
    *len = (nsteps + p - 1) / p;
    return (nsteps + *len - 1) / *len; // no empty part
}

template <int NT, int U, bool ARGMAX, bool HALF = false>
__global__ void __launch_bounds__(MM_SPLIT_MAX * GETP_WAVE)
mm_split_bf16_bf16w(MmArgs a, int len) {
    extern __shared__ float mm_part[]; // [G][P][TILE_M][NT * TILE_N]
    __shared__ unsigned long long skey[TILE_M];
    constexpr int C = NT * TILE_N, TILE = TILE_M * C;
    const int nsteps = a.K / TILE_K, P = (nsteps + len - 1) / len;
    const int warp = threadIdx.x / GETP_WAVE, G = blockDim.x / GETP_WAVE / P;
    const int part = warp % P, n0 = (blockIdx.x * G + warp / P) * C, m0 = blockIdx.y * TILE_M;
    TileC acc[NT];
    mm_chain<NT, U, HALF>(a, m0, n0, part * len, min(len, nsteps - part * len), n0 < a.N, acc, [&] {
        port_dep_enter(); // port.h "launching"
        if (ARGMAX && threadIdx.x < TILE_M) skey[threadIdx.x] = 0ull;
    });
    float *mine = mm_part + (size_t)warp * TILE;
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
        for (int i = 0; i < 4; i++) mine[tile_c_row(i) * C + t * TILE_N + tile_c_col(i)] = acc[t].c[i];
    __syncthreads();
    for (int j = threadIdx.x; j < G * TILE; j += blockDim.x) {
        const int g = j / TILE, r = j % TILE;
        const int m = m0 + r / C, n = (blockIdx.x * G + g) * C + r % C;
        if (m >= a.M || n >= a.N) continue;
        const float *q = mm_part + (size_t)g * P * TILE + r;
        float v = q[0];
        for (int p = 1; p < P; p++) v += q[(size_t)p * TILE];
        if (ARGMAX) atomicMax(&skey[r / C], mm_argmax_key(v, n));
        else mm_store(a, m, n, v);
    }
    if (ARGMAX) {
        __syncthreads();
        if (threadIdx.x < TILE_M && m0 + (int)threadIdx.x < a.M)
            atomicMax(&a.keys[m0 + threadIdx.x], skey[threadIdx.x]);
    }
}

/* ---- larger M: BM x BN block tiles, operands double-buffered through registers ---- */

/* The split tile keeps the parts' total in registers: bounded by GETP_MINB_WIDE
 * (256 registers a thread) so it does not spill where 2 blocks an SM would
 * give 128 (sm_90a: 908 bytes in the 128-row tile; bench/RESULTS.md run 84,
 * the portable build's batch 1,024 +4.5%); on gfx90a that is the bound it had.
 * MINB_ > 0 overrides the bound (the playground). */
template <int WARPS_M, int MT, int KSUB, bool ARGMAX, bool SPLIT, int MINB_ = 0>
__global__ void __launch_bounds__(256, (MINB_ > 0 ? MINB_ : SPLIT ? GETP_MINB_WIDE : MmTiled<WARPS_M, MT, KSUB>::MINB))
mm_tiled_bf16_bf16w(MmArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MmTiled<WARPS_M, MT, KSUB> C;
    extern __shared__ uint4 smem[];
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int m0 = blockIdx.y * C::BM, n0 = blockIdx.x * C::BN;
    const int nsteps = a.K / TILE_K, nstages = (nsteps + C::KSUB - 1) / C::KSUB;

    /* Loader: THREADS/4 rows per pass, 4 chunks of 8 bf16 per k-step row. */
    constexpr int RPP = C::THREADS / 4, PA = C::BM / RPP, PB = C::BN / RPP;
    const int lrow = tid / 4, lc = tid % 4;
    const uint16_t *srca[PA], *srcb[PB];
#pragma unroll
    for (int p = 0; p < PA; p++)
        srca[p] = a.x + (size_t)min(m0 + p * RPP + lrow, a.M - 1) * a.K + lc * 8;
#pragma unroll
    for (int p = 0; p < PB; p++)
        srcb[p] = a.w + (size_t)min(n0 + p * RPP + lrow, a.N - 1) * a.K + lc * 8;
    uint4 ra[C::KSUB][PA], rb[C::KSUB][PB];
    auto load_stage = [&](int st) {
#pragma unroll
        for (int ks = 0; ks < C::KSUB; ks++) {
            const int step = st * C::KSUB + ks;
            if (step < nsteps) {
#pragma unroll
                for (int p = 0; p < PA; p++)
                    ra[ks][p] = *(const uint4 *)(srca[p] + (size_t)step * TILE_K);
#pragma unroll
                for (int p = 0; p < PB; p++)
                    rb[ks][p] = *(const uint4 *)(srcb[p] + (size_t)step * TILE_K);
            }
        }
    };
    auto store_stage = [&](int buf) {
        uint4 *sa = smem + buf * C::STAGE, *sb = sa + C::A_CHUNKS;
#pragma unroll
        for (int ks = 0; ks < C::KSUB; ks++) {
#pragma unroll
            for (int p = 0; p < PA; p++)
                sa[ks * C::BM * 4 + mm_swz(p * RPP + lrow, lc)] = ra[ks][p];
#pragma unroll
            for (int p = 0; p < PB; p++)
                sb[ks * C::BN * 4 + mm_swz(p * RPP + lrow, lc)] = rb[ks][p];
        }
    };

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    MmFold<MT, C::NT, SPLIT ? 1 : 0> fold(NULL, a.klen);

    load_stage(0);
    store_stage(0);
    __syncthreads();
    int st = 0;
    for (int s0 = 0; s0 < nsteps;) { // a part of K at a time (one part unless SPLIT)
        const int s1 = fold.end(s0, nsteps), st1 = (s1 + C::KSUB - 1) / C::KSUB;
        for (; st < st1; st++) {
            const int buf = st & 1;
            if (st + 1 < nstages) load_stage(st + 1);
#pragma unroll
            for (int ks = 0; ks < C::KSUB; ks++) {
                if (st * C::KSUB + ks >= nsteps) break;
                mm_kstep<C>(acc, smem + buf * C::STAGE + ks * C::BM * 4,
                            smem + buf * C::STAGE + C::A_CHUNKS + ks * C::BN * 4, wm, wn);
            }
            if (st + 1 < nstages) store_stage(buf ^ 1);
            __syncthreads();
        }
        if (s1 < nsteps) fold.add(s0 == 0, acc);
        s0 = s1;
    }
    fold.finish(nsteps, acc);

    mm_epilogue<C, ARGMAX>(a, acc, smem, m0, n0, wm, wn);
}

__global__ void mm_argmax_finish(int32_t *ids, const unsigned long long *keys, int M) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    int m = blockIdx.x * blockDim.x + threadIdx.x;
    if (m >= M) return;
    ids[m] = (uint32_t)(keys[m] >> 32) == MM_KEY_BAD ? -1
                                                     : (int32_t)(0xffffffffu - (uint32_t)(keys[m] & 0xffffffffull));
}

/* ---- launchers ---- */

/* TILE_N and GETP_WAVE evaluate the same in the host pass: 8 * wave / 32. */
#define MM_GEMV_MAX_M TILE_M

template <int WARPS_M, int MT, int KSUB, bool ARGMAX, bool SPLIT, int MINB_ = 0>
static void mm_launch_tiled_as(const MmArgs &a, hipStream_t stream) {
    typedef MmTiled<WARPS_M, MT, KSUB> C;
    CHECK(!SPLIT || a.klen % KSUB == 0); // parts of whole stages (mm_dense_klen)
    static bool attr_set = false;
    if (!attr_set) {
        const void *fn = (const void *)mm_tiled_bf16_bf16w<WARPS_M, MT, KSUB, ARGMAX, SPLIT, MINB_>;
        GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize,
                                      (int)C::SMEM));
        attr_set = true;
    }
    dim3 grid((a.N + C::BN - 1) / C::BN, (a.M + C::BM - 1) / C::BM);
    port_launch(mm_tiled_bf16_bf16w<WARPS_M, MT, KSUB, ARGMAX, SPLIT, MINB_>, grid, C::THREADS, C::SMEM, stream, a);
    GPU_CHECK_LAUNCH();
}
template <int WARPS_M, int MT, int KSUB, bool ARGMAX>
static void mm_launch_tiled(const MmArgs &a, hipStream_t stream) {
    if (mm_is_split(a)) mm_launch_tiled_as<WARPS_M, MT, KSUB, ARGMAX, true>(a, stream);
    else mm_launch_tiled_as<WARPS_M, MT, KSUB, ARGMAX, false>(a, stream);
}

template <int NT, int U, bool ARGMAX, bool HALF = false, int WARPS = MM_GEMV_THREADS / GETP_WAVE>
static void mm_launch_gemv(const MmArgs &a, hipStream_t stream) {
    int cols_per_block = WARPS * NT * TILE_N;
    dim3 grid((a.N + cols_per_block - 1) / cols_per_block, (a.M + TILE_M - 1) / TILE_M);
    CHECK(!HALF || a.M <= TILE_M / 2);
    port_launch(mm_gemv_bf16_bf16w<NT, U, ARGMAX, HALF, WARPS>, grid, WARPS * GETP_WAVE, 0, stream, a);
    GPU_CHECK_LAUNCH();
}

/* The dense split at M <= 16: one column tile of TILE_N a block (the
 * vocabulary-wide W, whose key atomics would want several, is never split:
 * mm_dense_klen). U = 8 with HALF too (bench/RESULTS.md run 42: parts of 24
 * k-steps, 8 in flight, one A row a lane: the fastest split). */
template <bool ARGMAX, bool HALF>
static void mm_launch_split_dense(const MmArgs &a, hipStream_t stream) {
    const int parts = (a.K / TILE_K + a.klen - 1) / a.klen;
    CHECK(parts <= MM_SPLIT_MAX && (!HALF || a.M <= TILE_M / 2));
    const unsigned rows = (unsigned)((a.M + TILE_M - 1) / TILE_M);
    const size_t smem = (size_t)parts * TILE_M * TILE_N * sizeof(float);
    port_launch(mm_split_bf16_bf16w<1, 8, ARGMAX, HALF>, dim3((a.N + TILE_N - 1) / TILE_N, rows),
                parts * GETP_WAVE, smem, stream, a, a.klen);
    GPU_CHECK_LAUNCH();
}

/* The routers: one column group of NT tiles a block: NT = 1 up to 64 rows (the
 * most blocks for few rows), 32 columns past it (each A row read by fewer blocks). */
template <bool ARGMAX>
static void mm_launch_split(const MmArgs &a, hipStream_t stream) {
    int len;
    const int parts = mm_split_parts(a.K / TILE_K, &len);
    const int nt = a.M <= 64 ? 1 : 32 / TILE_N > 1 ? 32 / TILE_N : 1;
    const unsigned rows = (unsigned)((a.M + TILE_M - 1) / TILE_M);
    const size_t smem = (size_t)parts * TILE_M * nt * TILE_N * sizeof(float);
    if (nt == 1)
        port_launch(mm_split_bf16_bf16w<1, 8, ARGMAX>, dim3((a.N + TILE_N - 1) / TILE_N, rows),
                    parts * GETP_WAVE, smem, stream, a, len);
    else if (nt == 2)
        port_launch(mm_split_bf16_bf16w<2, 4, ARGMAX>, dim3((a.N + 2 * TILE_N - 1) / (2 * TILE_N), rows),
                    parts * GETP_WAVE, smem, stream, a, len);
    else
        port_launch(mm_split_bf16_bf16w<4, 2, ARGMAX>, dim3((a.N + 4 * TILE_N - 1) / (4 * TILE_N), rows),
                    parts * GETP_WAVE, smem, stream, a, len);
    GPU_CHECK_LAUNCH();
}

static void mm_check(const void *x, const void *w, int M, int N, int K) {
    CHECK(M >= 1 && N >= 1 && K >= TILE_K && K % TILE_K == 0);
    CHECK(((uintptr_t)x % 16) == 0 && ((uintptr_t)w % 16) == 0);
}

/* Weights this small (the routers) stay in L2, so the split kernel may re-read
 * them per 16 rows, at every M. */
#define MM_GEMV_L2_BYTES (1 << 20)

/* The M <= 8 GEMV in blocks of 1 warp, the grid spread evenly over the SMs
 * (in blocks of 4, qkv's 160 put 2 on 28 of 132 SMs and o's 90 left 42 idle):
 * runs 78-79, 20b batch 1 +0.5% / +1.8%, batch 8 +1.3% / +0.6%, the same
 * bits. GETP_GEMV_FORM=0: blocks of 4 warps as before, for A/B. */
static int mm_gemv_form(void) {
    static int v = -1;
    if (v < 0) v = env_digit("GETP_GEMV_FORM", 1, 0, 1, "0 (blocks of 4 warps, before run 79) or 1 (the default)");
    return v;
}
static void mm_launch_half(const MmArgs &a, hipStream_t stream) {
    if (mm_gemv_form() == 1) mm_launch_gemv<1, 16, false, true, 1>(a, stream);
    else mm_launch_gemv<1, 16, false, true>(a, stream);
}

/* Small W (the routers): the split kernel at every M (its own bits, the same
 * at every M). Other weights by how well a configuration fills the GPU (every
 * one gives the same bits):
 *  - GEMV for M <= 16 (M <= 8: one A row a lane, 16 k-steps of W in flight,
 *    blocks of 1 warp; not for the argmax, whose 201,088 columns fill the GPU
 *    as they are);
 *    under the dense split of K (a.klen; the default) the split kernel, a
 *    warp a part;
 *  - otherwise the vendor's extras first (extras.h), then 64x128 tiles up to
 *    M = 256, 128x128 past it (measured; at M = 342 the 64-row tiles' extra
 *    blocks did not pay: bench/RESULTS.md run 18), with the same parts. */
template <bool ARGMAX>
static void mm_dispatch(const MmArgs &a, hipStream_t stream) {
    const bool small_w = (size_t)a.N * a.K * 2 <= MM_GEMV_L2_BYTES;
    if (small_w) mm_launch_split<ARGMAX>(a, stream); // every M: its own bits
    else if (mm_is_split(a) && a.M <= MM_GEMV_MAX_M) {
        if (!ARGMAX && a.M <= MM_GEMV_MAX_M / 2) mm_launch_split_dense<false, true>(a, stream);
        else mm_launch_split_dense<ARGMAX, false>(a, stream);
    } else if (!ARGMAX && a.M <= MM_GEMV_MAX_M / 2) mm_launch_half(a, stream);
    else if (a.M <= MM_GEMV_MAX_M) mm_launch_gemv<1, 8, ARGMAX>(a, stream);
    else if (mm_gemm_extra(a, ARGMAX, stream)) return;
    else if (a.M <= 256) mm_launch_tiled<1, 4, 2, ARGMAX>(a, stream);
    else mm_launch_tiled<2, 4, 1, ARGMAX>(a, stream);
}

/* The dense split of K (matmul_common.h), on by default since run 82: 20b
 * batch 1 +9.5%, batch 8 +5.1%, 120b batch 1 +10.5%, batch 8 +4.4%, batch
 * 1,024 -0.75% (other bits than one chain, the same at every M).
 * GETP_KSPLIT=0 (read at the first product) or matmul_set_ksplit(0): one
 * chain, as before. */
static int mm_ksplit = -1;

void matmul_set_ksplit(int on) { mm_ksplit = on != 0; }

static int mm_klen(int N, int K) {
    if (mm_ksplit < 0)
        mm_ksplit = env_digit("GETP_KSPLIT", 1, 0, 1, "0 (one chain, before run 82) or 1 (the default)");
    return mm_ksplit ? mm_dense_klen(N, K / TILE_K) : 0;
}

void matmul_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *w, const float *bias,
                       const float *residual, int M, int N, int K, hipStream_t stream) {
    mm_check(x, w, M, N, K);
    MmArgs a = {y, x, w, bias, residual, NULL, M, N, K, mm_klen(N, K)};
    mm_dispatch<false>(a, stream);
}

void matmul_pair_bf16_bf16w(float *y, const uint16_t *x, const uint16_t *x_lo, const uint16_t *w,
                            const float *bias, const float *residual, int M, int N, int K,
                            hipStream_t stream) {
    matmul_bf16_bf16w(y, x, w, bias, residual, M, N, K, stream);
    if (x_lo) matmul_bf16_bf16w(y, x_lo, w, NULL, y, M, N, K, stream);
}

/* Key scratch (M) grown on demand; the first call for a given M must not be
 * inside graph capture (the engine's warm-up makes that call). */
static unsigned long long *mm_keys = NULL;
static int mm_keys_cap = 0;

void matmul_argmax_bf16_bf16w(int32_t *ids, const uint16_t *x, const uint16_t *w, int M, int N,
                              int K, hipStream_t stream) {
    mm_check(x, w, M, N, K);
    if (M > mm_keys_cap) {
        if (mm_keys) GPU_CHECK(hipFree(mm_keys));
        GPU_CHECK(hipMalloc((void **)&mm_keys, (size_t)M * sizeof(unsigned long long)));
        mm_keys_cap = M;
    }
    GPU_CHECK(hipMemsetAsync(mm_keys, 0, (size_t)M * sizeof(unsigned long long), stream));
    MmArgs a = {NULL, x, w, NULL, NULL, mm_keys, M, N, K, mm_klen(N, K)};
    mm_dispatch<true>(a, stream);
    port_launch(mm_argmax_finish, (M + 255) / 256, 256, 0, stream, ids, mm_keys, M);
    GPU_CHECK_LAUNCH();
}
