/* gemv_cp.h: the dense GEMV with its ring of U k-steps in shared memory fed by
 * cp.async (a helper's branch, gemvcp), kept in the playground as a measured
 * experiment: bitwise mm_gemv's results, but 1.7-1.9x slower at M = 1 (qkv 37 us
 * against 19-22 for mm_gemv's register ring) and -11.5% for the 20b at batch 1
 * when dispatched (+3% at batch 8): bench/RESULTS.md run 38. Not in the engine.
 * Included after gpu/kernels/matmul.hip. */
#ifndef GETP_BENCH_GEMV_CP_H
#define GETP_BENCH_GEMV_CP_H

/* ---- the same GEMV with its ring in shared memory (cp.async) ----
 * mm_gemv's register ring leaves the waiting to the compiler: on NVIDIA a
 * wait for one load is a wait on a counter that younger loads share, so the
 * U loads in flight may drain to a few. Here each warp owns U slots of shared
 * memory (one k-step each: NT chunks of W and its A rows, 16 bytes a lane),
 * filled by cp.async, one commit group a k-step: at step s the slot of step
 * s - 1 is refilled with step s + U - 1 and cp.async.wait_group U - 2 waits for
 * step s alone, so U - 1 k-steps stay in flight. A lane reads back only the
 * chunks it copied itself: no barrier. Same operands, same tile_mma chain in
 * the same order as mm_gemv: bit-identical rows. HINT: port_cp_async16_hint's
 * L2 hints for W. LA (look-ahead): step s + 1's operands are read from shared
 * memory before step s's MMAs, off the chain (waits for U - 3 groups, U >= 3).
 * AMD and the portable build: plain copies (no gain there; on AMD's 64-lane
 * waves keep WARPS * U * SLOT * 16 bytes within 64 KB of LDS). */
template <int NT, int U, int WARPS, bool HALF>
struct MmGemvCp {
    static constexpr int THREADS = WARPS * GETP_WAVE;
    /* A rows a lane stages: TILE_A_ROWS (2 on NVIDIA, 1 under MFMA) is
     * device-only, so the host sizes for 2. */
    static constexpr int AR = HALF ? 1 : 2;
    static constexpr int SLOT = (NT + AR) * GETP_WAVE; // 16-byte chunks of one warp k-step
    static constexpr size_t SMEM = (size_t)WARPS * U * SLOT * 16;
    static_assert(U >= 2, "a ring of at least two slots");
};

template <int NT, int U, int WARPS, bool ARGMAX, bool HALF = false, int HINT = 0, bool LA = false>
__global__ void __launch_bounds__(WARPS * GETP_WAVE)
mm_gemv_cp_bf16_bf16w(MmArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MmGemvCp<NT, U, WARPS, HALF> C;
    constexpr int AR = HALF ? 1 : TILE_A_ROWS;
    static_assert(AR <= C::AR, "slot size");
    static_assert(!LA || U >= 3, "look-ahead needs three slots");
    extern __shared__ uint4 smem[];
    __shared__ unsigned long long skey[TILE_M];
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = (blockIdx.x * WARPS + warp) * NT * TILE_N;
    const int m0 = blockIdx.y * TILE_M;
    const int nsteps = a.K / TILE_K, koff = tile_k_off();
    if (ARGMAX) {
        if (threadIdx.x < TILE_M) skey[threadIdx.x] = 0ull;
        __syncthreads();
    }
    const uint16_t *xrow[AR];
#pragma unroll
    for (int r = 0; r < AR; r++)
        xrow[r] = a.x + (size_t)min(m0 + tile_a_row(r), a.M - 1) * a.K + koff;
    const uint16_t *wrow[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        wrow[t] = a.w + (size_t)min(n0 + t * TILE_N + tile_b_row(), a.N - 1) * a.K + koff;

    TileC acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    if (n0 < a.N) {
        /* slot u, chunk j (W tiles, then A rows) of this lane */
        uint4 *ring = smem + (size_t)warp * U * C::SLOT + tile_lane();
        auto issue = [&](int u, int s) {
            uint4 *d = ring + u * C::SLOT;
#pragma unroll
            for (int t = 0; t < NT; t++)
                port_cp_async16_hint<HINT>(d + t * GETP_WAVE, wrow[t] + (size_t)s * TILE_K);
#pragma unroll
            for (int r = 0; r < AR; r++)
                port_cp_async16(d + (NT + r) * GETP_WAVE, xrow[r] + (size_t)s * TILE_K);
        };
#pragma unroll
        for (int u = 0; u < U - 1; u++) {
            if (u < nsteps) issue(u, u);
            port_cp_commit();
        }
        /* the operands of the step in slot u (HALF: A row 0 for both rows, as mm_gemv) */
        auto fetch = [&](int u, TileA &x, TileB(&b)[NT]) {
            const uint4 *d = ring + u * C::SLOT;
#pragma unroll
            for (int r = 0; r < TILE_A_ROWS; r++) x.v[r] = d[(NT + (r < AR ? r : 0)) * GETP_WAVE];
#pragma unroll
            for (int t = 0; t < NT; t++) b[t].v = d[t * GETP_WAVE];
        };
        TileA x, xn;
        TileB b[NT], bn[NT];
        if (LA) {
            port_cp_wait_own<U - 2>();
            fetch(0, x, b);
        }
        for (int s0 = 0; s0 < nsteps; s0 += U) {
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int s = s0 + u;
                if (s >= nsteps) break;
                /* steps 0..s landed (LA: 0..s + 1); the younger groups may not have */
                port_cp_wait_own<(LA ? U - 3 : U - 2)>();
                if (s + U - 1 < nsteps) issue((u + U - 1) % U, s + U - 1); // step s - 1's slot
                port_cp_commit(); // empty near the end: the group count stays exact
                if (!LA) fetch(u, x, b);
                else if (s + 1 < nsteps) fetch((u + 1) % U, xn, bn);
#pragma unroll
                for (int t = 0; t < NT; t++) tile_mma(&acc[t], &x, &b[t]);
                if (LA) {
                    x = xn;
#pragma unroll
                    for (int t = 0; t < NT; t++) b[t] = bn[t];
                }
            }
        }
        port_cp_wait_own<0>();
    }
    mm_gemv_epilogue<NT, ARGMAX>(a, acc, skey, m0, n0);
}

/* WARPS warps a block, each NT tiles of TILE_N rows (mm_gemv_cp_bf16_bf16w). */
template <int NT, int U, int WARPS, bool ARGMAX, bool HALF = false, int HINT = 0, bool LA = false>
static void mm_launch_gemv_cp(const MmArgs &a, hipStream_t stream) {
    typedef MmGemvCp<NT, U, WARPS, HALF> C;
    static bool attr_set = false;
    if (!attr_set) {
        const void *fn = (const void *)mm_gemv_cp_bf16_bf16w<NT, U, WARPS, ARGMAX, HALF, HINT, LA>;
        GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)C::SMEM));
        attr_set = true;
    }
    int cols_per_block = WARPS * NT * TILE_N;
    dim3 grid((a.N + cols_per_block - 1) / cols_per_block, (a.M + TILE_M - 1) / TILE_M);
    CHECK(!HALF || a.M <= TILE_M / 2);
    port_launch(mm_gemv_cp_bf16_bf16w<NT, U, WARPS, ARGMAX, HALF, HINT, LA>, grid, C::THREADS, C::SMEM, stream, a);
    GPU_CHECK_LAUNCH();
}

#endif
