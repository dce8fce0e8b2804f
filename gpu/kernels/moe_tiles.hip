/* moe_tiles.hip: the portable MoE kernel families (every vendor; the AMD
 * dispatch uses only these), launched from moe.hip's dispatcher:
 *  - moe_gemv for few pairs per expert (each expert's weights streamed once,
 *    16 pairs a pass; MXFP4 decoded by byte permutes, mx_dequant8_t, through
 *    the block's shared table of every scale byte's 8 entries);
 *  - moe_staged_mx for many, MXFP4 weights: BM x 128 tiles, the weight tile
 *    decoded ONCE per block into bf16 in shared memory (each thread: 16 codes
 *    of one row), so no two waves decode the same columns and the B fragments
 *    are plain 16-byte loads like A; one barrier per stage; 16-row sub-tiles
 *    past the expert's last pair skip their mma. Two pipelines: cp.async
 *    builds stage the raw bytes through MoeStages and decode by bf16x2
 *    arithmetic a stage ahead; register-staging builds (AMD, the portable
 *    build) keep two k-steps of loads in registers and decode by byte
 *    permutes (mx_dequant8_t) as they store;
 *  - moe_tiled for many, bf16 weights (operands double-buffered through
 *    registers).
 * The values are those of mx_dequant8 (exact) and the k-steps run in the same
 * order through the same tile_mma chain: rows are bit-identical across all.
 */
#include "moe_common.h"
#include "moe_families.h" // the launchers below
#include "gpu_check.h"

/* ---- few pairs per expert: GEMV over 16 pairs, weights streamed ---- */

/* A lane's piece of A row r (8 bf16 at p) into x->v[r]. With two rows a tile
 * (mma.sync) as four 4-byte loads: the instruction takes the rows' pairs
 * interleaved (v[0].x, v[1].x, v[0].y, v[1].y in consecutive registers), so a
 * 16-byte load per row costs register moves to rebuild them at every mma. */
__device__ __forceinline__ void moe_gemv_load_a(TileA *x, int r, const uint16_t *p) {
    if (TILE_A_ROWS > 1) {
        const uint32_t *q = (const uint32_t *)p;
        x->v[r] = make_uint4(q[0], q[1], q[2], q[3]);
    } else {
        x->v[r] = *(const uint4 *)p;
    }
}

static_assert(MOE_GEMV_BM == TILE_M, "one 16-row tile per moe_gemv pass");

/* HALF (M <= 8 tokens, so no slot holds more than 8 pairs: rows 8..15 of
 * the 16-row tile are past every slot's pairs and dropped): a lane loads only
 * its first A row and passes it for the others too (an MMA's output row
 * depends on its own A row alone), which halves the A ring's registers.
 * AS > 0 (with HALF; the playground's v30-v32 and v50-v52; dispatched at one
 * token, AS = 1, form 4): the slot's first AS pairs' A rows are copied once
 * into dynamic shared memory (min(M, AS) x K bf16, launched with that much)
 * and each k-step's A operand is read from there, so the ring holds only the
 * raw weights and scales and the k-steps' loads are the weights' alone (with
 * WT too: the token row, the B operand, from there).
 * MINB: blocks an SM the registers are bounded for (the same instructions:
 * the same bits). SP (MXFP4, U even, K / 32 even: the launcher checks): each
 * lane loads the scale bytes of two k-steps at once (one 2-byte load for
 * steps s, s + 1, s even), halving the scale loads; a tile-row's scale bytes
 * sit in 8 cache lines, so each 1-byte load costs the L1 8 wavefronts for 8
 * bytes (run 75: L1 data pipe 64% busy at M = 8, issue 45%). Same values.
 * RG (MXFP4; the playground's v42/v43 only, on weights it lays out itself):
 * the blocks and scales in row groups of MOE_RG, k-step-major inside a group
 * (moe_rg_block / moe_rg_scale), so a tile's 8 rows of one k-step are 128
 * contiguous bytes of codes and 8 of scales: one cache line a load where the
 * checkpoint's layout touches 8. Measures what the layout would give before
 * every MoE kernel and the loader adopt it. Same values.
 * WT (MXFP4, HALF; the default up to 8 tokens, the playground's v44-v47): the weights
 * as the MMA's A operand (TILE_M rows a tile, a lane's TILE_A_ROWS of them
 * decoded straight into its fragment) and the lane's token row as B, so no A
 * row is copied into the dropped rows' registers (run 78's sass: ~200 of the
 * kernel's instructions are such moves). Each product and its k slot are the
 * same, so the bits are the tile's if the matrix unit sums a dot product the
 * same whichever operand is A: the playground compares them with auto's (run
 * 80: equal), test_gemm's MoE cases each token alone with its batch. */
#define MOE_RG 8
/* Offsets of row `row`'s k-step k (of kg a row) in the row-grouped layout. */
__host__ __device__ __forceinline__ size_t moe_rg_block(size_t row, size_t k, size_t kg) {
    return ((row / MOE_RG) * kg + k) * (16 * MOE_RG) + (row % MOE_RG) * 16;
}
__host__ __device__ __forceinline__ size_t moe_rg_scale(size_t row, size_t k, size_t kg) {
    return ((row / MOE_RG) * kg + k) * MOE_RG + row % MOE_RG;
}

/* KP > 1 (the playground's v48/v49 only: what a split of K would give the
 * expert GEMVs before every MoE kernel keeps a parts' total): the block's
 * warps are KP parts of K (even lengths by K alone, as matmul's dense split)
 * for WARPS / KP column groups; each part a chain from zero, summed in part
 * order through shared memory by the part-0 warp, which runs the epilogue.
 * Other bits than KP = 1. */
template <int EPI, bool MX, int NT, int U, bool HALF = false, int AS = 0, int MINB = 3, bool SP = false,
          bool RG = false, bool WT = false, int KP = 1>
__global__ void __launch_bounds__(MOE_GEMV_THREADS, MINB)
moe_gemv(MoeArgs a) {
    constexpr int WARPS = MOE_GEMV_THREADS / GETP_WAVE;
    static_assert(KP == 1 || (MX && AS == 0 && !RG && WARPS % KP == 0),
                  "parts of K: MXFP4 in the checkpoint's layout, whole column groups, no staged rows");
    static_assert(AS == 0 || (HALF && AS <= MOE_GEMV_BM / 2), "staged A rows: one A row a lane");
    static_assert(!SP || (MX && U % 2 == 0 && !RG), "scale pairs: MXFP4, an even ring, the checkpoint's layout");
    static_assert(!RG || MX, "row groups: MXFP4");
    static_assert(!WT || (MX && HALF && !RG), "weights as the A operand: MXFP4, up to 8 tokens");
    /* WT: a tile is TILE_M weight rows (the lane's TILE_A_ROWS of them) by the
     * tokens, RW weight rows a lane and tile; else TILE_N rows, one a lane. */
    constexpr int RW = WT ? TILE_A_ROWS : 1, TROWS = WT ? TILE_M : TILE_N, J = NT * RW;
    __shared__ uint4 stab[MX ? 256 : 1]; // MXFP4: every scale byte's table (mx_table_fill)
    if (MX) {
        mx_table_fill(stab, MOE_GEMV_THREADS);
        __syncthreads();
    }
    port_dep_enter(); // port.h "launching": the activations and every write after it
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, MOE_GEMV_BM, &e, &p0, &p1)) return;
    const int warp = threadIdx.x / GETP_WAVE, part = warp % KP;
    const int n0 = (blockIdx.y * (WARPS / KP) + warp / KP) * NT * TROWS;
    extern __shared__ uint4 as_rows[]; // AS > 0: min(p1 - p0, AS) rows of K / 8 chunks
    const int kc = a.K / 8, as_cnt = AS > 0 ? min(p1 - p0, AS) : 0;
    if (AS > 0) { // every thread copies, before any wave leaves
        for (int i = threadIdx.x; i < as_cnt * kc; i += MOE_GEMV_THREADS)
            as_rows[i] = *(const uint4 *)(moe_act_row<EPI>(a, p0 + i / kc) + (size_t)(i % kc) * 8);
        __syncthreads();
    }
    if (KP == 1 && n0 >= a.N) return; // KP > 1: every warp reaches the parts' barrier
    int nsteps = a.K / TILE_K, koff = tile_k_off();
    if (KP > 1) { // this warp's part: k-steps [s0, s0 + nsteps)
        int klen = (nsteps + KP - 1) / KP;
        klen += klen & 1;
        const int s0 = min(part * klen, nsteps);
        nsteps = min(klen, nsteps - s0);
        koff += s0 * TILE_K;
    }
    constexpr int AR = HALF ? 1 : TILE_A_ROWS; // A rows a lane loads
    const uint16_t *arow[AR];
#pragma unroll
    for (int r = 0; r < AR; r++)
        arow[r] = moe_act_row<EPI>(a, min(p0 + (WT ? tile_b_row() : tile_a_row(r)), p1 - 1)) + koff;
    size_t brow[J]; // the lane's weight rows: j = tile * RW + row
#pragma unroll
    for (int j = 0; j < J; j++)
        brow[j] = (size_t)e * a.N +
                  min(n0 + (j / RW) * TROWS + (WT ? tile_a_row(j % RW) : tile_b_row()), a.N - 1);

    const int KG = a.K / 32;
    /* MXFP4 by pointer, set up once: tile t's codes (16 bytes a k-step, the
     * lane's 4 at koff / 2) and its scale bytes (one a k-step). */
    const uint8_t *pb[J], *ps[J];
#pragma unroll
    for (int j = 0; j < J; j++) {
        const size_t g0 = MX ? brow[j] * (size_t)KG : 0;
        pb[j] = !MX ? NULL : (RG ? a.w.blocks + moe_rg_block(brow[j], 0, KG) : a.w.blocks + g0 * 16) + koff / 2;
        ps[j] = !MX ? NULL : RG ? a.w.scales + moe_rg_scale(brow[j], 0, KG) : a.w.scales + g0 + koff / TILE_K;
    }
    constexpr int BSTEP = RG ? 16 * MOE_RG : 16, SSTEP = RG ? MOE_RG : 1; // bytes a k-step
    /* A ring of U k-steps in flight: step s's slot is refilled with step
     * s + U right after s's mma. MXFP4 stays raw (4 code bytes and a scale
     * per tile and k-step) until its mma, so a deep U costs few registers. */
    TileB b[MX ? 1 : U][NT];
    uint32_t raw[MX ? U : 1][J], scl[MX ? U : 1][J];
    TileA x[U]; // WT: v[0] is the lane's token row, the B operand
    auto load = [&](int u, int s) {
#pragma unroll
        for (int j = 0; j < J; j++) {
            if (MX) {
                raw[MX ? u : 0][j] = *(const uint32_t *)(pb[j] + (size_t)s * BSTEP);
                if (!SP) scl[MX ? u : 0][j] = ps[j][(size_t)s * SSTEP];
                else if (u % 2 == 0) // slot u holds steps s = u (mod U): s even, s + 1 < nsteps (even)
                    scl[MX ? u : 0][j] = *(const uint16_t *)(ps[j] + s);
            } else {
                b[MX ? 0 : u][j].v = moe_load_b<false>(a, brow[j], s, koff);
            }
        }
        if (AS == 0) { // else step() reads the rows from shared memory
            if (WT) {
                x[u].v[0] = *(const uint4 *)(arow[0] + (size_t)s * TILE_K);
            } else {
#pragma unroll
                for (int r = 0; r < AR; r++) moe_gemv_load_a(&x[u], r, arow[r] + (size_t)s * TILE_K);
            }
        }
    };
    /* MXFP4 decode by the scale's table (mx_dequant8_t: byte permutes, the
     * same bits as the float decode mx_dequant8), read from shared memory:
     * one 16-byte load per tile and k-step instead of building it (9
     * instructions on sm_90a) and checking its range with a redo for scales
     * outside it. */
    TileC acc[NT];
    const int as_off = AS > 0 ? min(WT ? tile_b_row() : tile_a_row(0), as_cnt - 1) * kc + koff / 8 : 0;
    int as_step = 0; // AS > 0: the k-step step() is at (steps come in order)
    auto decode = [&](int u, int j) { // weight row j's 8 bf16 of this k-step
        uint32_t sc = scl[MX ? u : 0][j];
        if (SP && u % 2 == 0) { // the odd step's byte waits in the next slot (not reloaded)
            scl[MX ? (u + 1) % U : 0][j] = sc >> 8;
            sc &= 0xffu;
        }
        return mx_dequant8_s(raw[MX ? u : 0][j], stab, sc);
    };
    auto step = [&](int u) {
        if (AS > 0) x[u].v[0] = as_rows[as_off + 4 * as_step++];
        if constexpr (WT) { // C(weight rows x tokens) += W(rows x k) x(tokens x k)^T
            TileB xb;
            xb.v = x[u].v[0];
#pragma unroll
            for (int t = 0; t < NT; t++) {
                TileA wa;
#pragma unroll
                for (int r = 0; r < RW; r++) wa.v[r] = decode(u, t * RW + r);
                tile_mma(&acc[t], &wa, &xb);
            }
        } else {
#pragma unroll
            for (int r = AR; r < TILE_A_ROWS; r++) x[u].v[r] = x[u].v[0];
#pragma unroll
            for (int t = 0; t < NT; t++) {
                TileB bt;
                if (MX) bt.v = decode(u, t);
                else bt = b[MX ? 0 : u][t];
                tile_mma(&acc[t], &x[u], &bt);
            }
        }
    };
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    tile_ring<U>(nsteps, load, step);
    if constexpr (KP > 1) {
        __shared__ float spart[WARPS * NT * 4 * GETP_WAVE];
        const int lane = threadIdx.x % GETP_WAVE;
#pragma unroll
        for (int t = 0; t < NT; t++)
#pragma unroll
            for (int i = 0; i < 4; i++) spart[((warp * NT + t) * 4 + i) * GETP_WAVE + lane] = acc[t].c[i];
        __syncthreads();
        if (part != 0 || n0 >= a.N) return;
        for (int q = 1; q < KP; q++)
#pragma unroll
            for (int t = 0; t < NT; t++)
#pragma unroll
                for (int i = 0; i < 4; i++) acc[t].c[i] += spart[(((warp + q) * NT + t) * 4 + i) * GETP_WAVE + lane];
    }
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
        for (int i = 0; i < 4; i++) { // WT: rows are weight rows, columns tokens
            float partner = WT ? tile_c_row_partner(&acc[t], i) : tile_c_partner(&acc[t], i);
            int pos = p0 + (WT ? tile_c_col(i) : tile_c_row(i));
            int n = n0 + t * TROWS + (WT ? tile_c_row(i) : tile_c_col(i));
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[t].c[i], partner);
        }
}

/* ---- many pairs per expert: BM x 128 tiles through shared memory ---- */


template <int EPI, bool MX, int WARPS_M, int MT>
__global__ void __launch_bounds__(256, 2)
moe_tiled(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MoeTiled<WARPS_M, MT> C;
    __shared__ uint4 smem[2 * C::STAGE];
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, C::BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int n0 = blockIdx.y * C::BN;
    const int nsteps = a.K / TILE_K;

    /* A: THREADS/4 rows a pass, chunk lc of 4. B: 2 threads a row, 2 chunks each. */
    constexpr int RPP = C::THREADS / 4, PA = C::BM / RPP;
    const int lrow = tid / 4, lc = tid % 4, brow_l = tid / 2, bh = tid % 2;
    const uint16_t *srca[PA];
#pragma unroll
    for (int p = 0; p < PA; p++)
        srca[p] = moe_act_row<EPI>(a, min(p0 + p * RPP + lrow, p1 - 1)) + lc * 8;
    const size_t erow = (size_t)e * a.N + min(n0 + brow_l, a.N - 1);
    uint4 ra[PA], rb[2];
    auto load_step = [&](int step) {
#pragma unroll
        for (int p = 0; p < PA; p++) ra[p] = *(const uint4 *)(srca[p] + (size_t)step * TILE_K);
        if (MX) {
            size_t g = erow * (size_t)(a.K / 32) + step;
            uint2 bytes = *(const uint2 *)(a.w.blocks + g * 16 + bh * 8);
            float sc = mx_scale(a.w.scales[g]);
            rb[0] = mx_dequant8(bytes.x, sc);
            rb[1] = mx_dequant8(bytes.y, sc);
        } else {
            const uint16_t *src = a.w.bf16 + erow * a.K + (size_t)step * TILE_K + bh * 16;
            rb[0] = *(const uint4 *)src;
            rb[1] = *(const uint4 *)(src + 8);
        }
    };
    auto store_step = [&](int buf) {
        uint4 *sa = smem + buf * C::STAGE, *sb = sa + C::BM * 4;
#pragma unroll
        for (int p = 0; p < PA; p++) sa[moe_swz(p * RPP + lrow, lc)] = ra[p];
        sb[moe_swz(brow_l, 2 * bh)] = rb[0];
        sb[moe_swz(brow_l, 2 * bh + 1)] = rb[1];
    };

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    const int kc = tile_k_off() / 8;
    load_step(0);
    store_step(0);
    __syncthreads();
    for (int s = 0; s < nsteps; s++) {
        const int buf = s & 1;
        if (s + 1 < nsteps) load_step(s + 1);
        const uint4 *sa = smem + buf * C::STAGE, *sb = sa + C::BM * 4;
        TileB b[C::NT];
#pragma unroll
        for (int j = 0; j < C::NT; j++)
            b[j].v = sb[moe_swz(wn * (C::NT * TILE_N) + j * TILE_N + tile_b_row(), kc)];
#pragma unroll
        for (int i = 0; i < MT; i++) {
            TileA x;
#pragma unroll
            for (int r = 0; r < TILE_A_ROWS; r++)
                x.v[r] = sa[moe_swz(wm * (MT * TILE_M) + i * TILE_M + tile_a_row(r), kc)];
#pragma unroll
            for (int j = 0; j < C::NT; j++) tile_mma(&acc[i][j], &x, &b[j]);
        }
        if (s + 1 < nsteps) store_step(buf ^ 1);
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                float partner = tile_c_partner(&acc[i][j], q);
                int pos = p0 + wm * (MT * TILE_M) + i * TILE_M + tile_c_row(q);
                int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(q);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][j].c[q], partner);
            }
}

/* ---- many pairs per expert, MXFP4: the staged kernel ---- */

/* One k-step of the staged kernels: a warp's MT x NT tiles from a k-step's A
 * chunks (sa + aoff, the lane's base) and decoded weight chunks (sb + boff) in
 * shared memory, swizzled by moe_swz; 16-row sub-tiles from `live` on (the
 * rows past the slot's pairs, counted from the warp's first) skip their mma. */
template <class C, int MT>
__device__ __forceinline__ void moe_staged_kstep(TileC (&acc)[MT][C::NT], const uint4 *sa,
                                                 const uint4 *sb, int aoff, int boff, int live) {
    TileB b[C::NT];
#pragma unroll
    for (int j = 0; j < C::NT; j++) b[j].v = sb[boff + j * TILE_N * 4];
#pragma unroll
    for (int i = 0; i < MT; i++) {
        if (i * TILE_M >= live) continue; // warp-uniform: no pairs left (a continue, not a break: hipcc then unrolls)
        TileA x;
#pragma unroll
        for (int r = 0; r < TILE_A_ROWS; r++) x.v[r] = sa[aoff + (i * TILE_M + tile_a_row(r) - tile_a_row(0)) * 4];
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_mma(&acc[i][j], &x, &b[j]);
    }
}

/* The staged kernels' epilogue: a warp's MT x NT tiles through moe_store
 * (rows past the slot's pairs and columns past N dropped). */
template <int EPI, class C, int MT>
__device__ __forceinline__ void moe_staged_store(const MoeArgs &a, TileC (&acc)[MT][C::NT], int e,
                                                 int p0, int p1, int mrow0, int n0, int wn) {
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                float partner = tile_c_partner(&acc[i][j], q);
                int pos = p0 + mrow0 + i * TILE_M + tile_c_row(q);
                int n = n0 + wn * (C::NT * TILE_N) + j * TILE_N + tile_c_col(q);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][j].c[q], partner);
            }
}

#if GETP_STAGE_ASYNC
/* cp.async builds: MoeStages (MOE_NS stages of MOE_KS k-steps of raw bytes),
 * the weight tile decoded by bf16x2 arithmetic one stage ahead. */

template <int EPI, int WARPS_M, int MT, int KS>
__global__ void __launch_bounds__(256, 2)
moe_staged_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MoeTiled<WARPS_M, MT> C;
    typedef MoeStages<EPI, C::BM, C::BN, KS> S;
    constexpr int SD = KS * C::BN * 4;          // uint4 per decoded bf16 B stage
    extern __shared__ uint4 smem[]; // MOE_NS * S::SR + 2 * SD (moe_staged_smem)
    uint4 *sdec = smem + MOE_NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, C::BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int n0 = blockIdx.y * C::BN;
    /* Decoder role: thread tid -> weight row tid / 2, codes 16 * (tid % 2) .. +15. */
    const int drow = tid / 2, dh = tid % 2;
    S stages(a, smem, e, p0, p1, n0, drow);
    const int nst = stages.stages();
    auto decode = [&](int st) {
        uint4 *d = sdec + (st & 1) * SD;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            const uint2 bytes = ((const uint2 *)(stages.step(st, ks) + S::SA + drow))[dh];
            const uint32_t sc2 = mx_scale_b2(stages.sc[ks]);
            d[ks * C::BN * 4 + moe_swz(drow, 2 * dh)] = mx_dequant8_b(bytes.x, sc2);
            d[ks * C::BN * 4 + moe_swz(drow, 2 * dh + 1)] = mx_dequant8_b(bytes.y, sc2);
        }
    };
    static_assert(C::BN * 2 == C::THREADS, "decoder split");
    stages.start();
    decode(0);
    if (nst > 1) stages.load_scales(1);

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    const int kc = tile_k_off() / 8;
    const int mrow0 = wm * (MT * TILE_M);
    /* Fragment rows differ by multiples of 8, which moe_swz maps alike: one base each. */
    const int aoff = moe_swz(mrow0 + tile_a_row(0), kc);
    const int boff = moe_swz(wn * (C::NT * TILE_N) + tile_b_row(), kc);
    static_assert(TILE_N % 8 == 0 && TILE_M % 8 == 0, "swizzle period");
    for (int st = 0; st < nst; st++) {
        stages.advance(st);
        if (st + 1 < nst) {
            decode(st + 1);
            if (st + 2 < nst) stages.load_scales(st + 2);
        }
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            moe_staged_kstep<C>(acc, stages.step(st, ks), sdec + (st & 1) * SD + ks * C::BN * 4, aoff,
                                boff, p1 - p0 - mrow0);
        }
    }
    moe_staged_store<EPI, C>(a, acc, e, p0, p1, mrow0, n0, wn);
}

template <int WARPS_M, int MT>
constexpr size_t moe_staged_smem(void) {
    typedef MoeTiled<WARPS_M, MT> C;
    return (size_t)(MOE_NS * MOE_KS * (C::BM * 4 + C::BN) + 2 * MOE_KS * C::BN * 4) * sizeof(uint4);
}
#define MOE_STAGED_KERNEL(EPI, WARPS_M, MT) moe_staged_mx<EPI, WARPS_M, MT, MOE_KS>

#else
/* Register staging (AMD, the portable build). Two k-steps of loads in flight
 * in registers, two shared buffers, one barrier per k-step. Each thread loads,
 * for k-step k: its PA chunks of the gathered A rows, 8 raw bytes (16 codes)
 * of weight row tid / 2 and that row's scale byte, into register set k % 2,
 * two k-steps before k is multiplied; at the end of k-step k - 1 it stores the
 * A chunks and the DECODED weights (mx_dequant8_t: the block's scale as an
 * 8-entry table, byte permutes) into buffer k % 2, which every warp finished
 * reading at the barrier that opened k - 1. So the raw bytes never go through
 * shared memory, each weight is decoded once per block, the loads have two
 * k-steps of mma to arrive, and shared memory is 2 x (BM + BN) x 64 bytes:
 * 32 KB at 128 x 128, two blocks in a CU's 64 KB. The set index is fixed by
 * unrolling the k-loop by two (no dynamically indexed registers). */
struct MoeRegB { // one k-step of one thread's weight loads
    uint2 b; // 16 codes
    uint32_t s; // their scale byte
};

template <int EPI, int WARPS_M, int MT>
__global__ void __launch_bounds__(256, 2)
moe_staged_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MoeTiled<WARPS_M, MT> C;
    constexpr int RPP = C::THREADS / 4, PA = C::BM / RPP;
    constexpr int SA = C::BM * 4, SR = SA + C::BN * 4; // uint4: A chunks, decoded B chunks
    static_assert(C::BM % RPP == 0 && RPP % 8 == 0 && C::BN * 2 == C::THREADS, "loader split");
    extern __shared__ uint4 smem[]; // 2 * SR (moe_staged_smem)
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, C::BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / GETP_WAVE;
    const int wm = warp / C::WARPS_N, wn = warp % C::WARPS_N;
    const int n0 = blockIdx.y * C::BN;
    const int nst = a.K / TILE_K, KG = a.K / 32;
    /* loader roles: A rows p * RPP + tid / 4, chunk tid % 4; weight row tid / 2, half tid % 2 */
    const int brow = tid / 2, bh = tid % 2;
    /* 32-bit element offsets (moe_check: the operands are under 4 G elements) */
    uint32_t offa[PA];
#pragma unroll
    for (int p = 0; p < PA; p++)
        offa[p] = (uint32_t)(moe_act_row<EPI>(a, min(p0 + p * RPP + tid / 4, p1 - 1)) - a.act) + (tid % 4) * 8;
    const uint32_t offs = (uint32_t)(((size_t)e * a.N + min(n0 + brow, a.N - 1)) * KG);
    const int sta = moe_swz(tid / 4, tid % 4), stb0 = SA + moe_swz(brow, 2 * bh),
              stb1 = SA + moe_swz(brow, 2 * bh + 1); // store slots (RPP rows: same swizzle)
    uint4 ra[PA]; // A chunks of the next k-step
    auto issue_a = [&](int k) {
        if (k >= nst) return;
#pragma unroll
        for (int p = 0; p < PA; p++) ra[p] = *(const uint4 *)(a.act + (offa[p] + (uint32_t)k * TILE_K));
    };
    auto land_a = [&](int k) {
        if (k >= nst) return;
        uint4 *buf = smem + (k & 1) * SR;
#pragma unroll
        for (int p = 0; p < PA; p++) buf[p * RPP * 4 + sta] = ra[p];
    };
    auto issue_b = [&](MoeRegB &r, int k) {
        if (k >= nst) return;
        r.b = *(const uint2 *)(a.w.blocks + (size_t)(offs + (uint32_t)k) * 16 + bh * 8);
        r.s = a.w.scales[offs + (uint32_t)k];
    };
    auto land_b = [&](const MoeRegB &r, int k) {
        if (k >= nst) return;
        uint4 *buf = smem + (k & 1) * SR;
        const MxTable t = mx_table(r.s);
        buf[stb0] = mx_dequant8_t(r.b.x, t);
        buf[stb1] = mx_dequant8_t(r.b.y, t);
    };

    TileC acc[MT][C::NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < C::NT; j++) tile_zero(&acc[i][j]);
    const int kc = tile_k_off() / 8;
    const int mrow0 = wm * (MT * TILE_M);
    /* Fragment rows differ by multiples of 8, which moe_swz maps alike: one base each. */
    const int aoff = moe_swz(mrow0 + tile_a_row(0), kc);
    const int boff = SA + moe_swz(wn * (C::NT * TILE_N) + tile_b_row(), kc);
    static_assert(TILE_N % 8 == 0 && TILE_M % 8 == 0, "swizzle period");
    auto mma = [&](int k) {
        const uint4 *buf = smem + (k & 1) * SR;
        moe_staged_kstep<C>(acc, buf, buf, aoff, boff, p1 - p0 - mrow0);
    };

    MoeRegB r0, r1;
    issue_a(0);
    issue_b(r0, 0);
    issue_b(r1, 1);
    land_a(0);
    land_b(r0, 0);
    issue_a(1);
    for (int k = 0; k < nst; k += 2) {
        __syncthreads(); // k landed; every warp done with k - 1's buffer
        land_a(k + 1);
        issue_a(k + 2);
        issue_b(r0, k + 2);
        mma(k);
        land_b(r1, k + 1);
        if (k + 1 >= nst) break;
        __syncthreads();
        land_a(k + 2);
        issue_a(k + 3);
        issue_b(r1, k + 3);
        mma(k + 1);
        land_b(r0, k + 2);
    }
    moe_staged_store<EPI, C>(a, acc, e, p0, p1, mrow0, n0, wn);
}

template <int WARPS_M, int MT>
constexpr size_t moe_staged_smem(void) {
    typedef MoeTiled<WARPS_M, MT> C;
    return (size_t)(2 * (C::BM * 4 + C::BN * 4)) * sizeof(uint4);
}
#define MOE_STAGED_KERNEL(EPI, WARPS_M, MT) moe_staged_mx<EPI, WARPS_M, MT>
#endif

/* ---- launchers ---- */

/* The M <= 8 MXFP4 form (HALF): 2 tiles a warp, 6 k-steps in flight, registers
 * bounded for 4 blocks an SM (128 on sm_90a, no spill; gfx90a 110 VGPRs, 4
 * waves a SIMD as before): bench/RESULTS.md runs 76-77 measured it against the
 * form before it (8 k-steps, 3 blocks: 167 registers, issue slots 45% busy at
 * M = 8): 0.92x the expert GEMVs' time at M = 8, +6.6% at batch 8 in the
 * engine, the same at M = 1. With the scale bytes of two k-steps loaded at once
 * (SP, where K / 32 is even; run 78: batch 8 +1.4% on the 20b, +1.1% on the
 * 120b, batch 1 the same or +1.1%) and the weights as the MMA's A operand (WT:
 * one tile of 16 weight rows a warp, no copies of the token row; run 81: 20b
 * batch 8 1,506 -> 1,620 tok/s, +7.6%, batch 1 the same). GETP_MOE_GEMV picks
 * a form for A/B: 0 the 8-step form before run 76, 1 the 6-step form without
 * SP, 2 with it (before run 81), 3 with WT as well (before run 87), 4 (the
 * default): form 3 with the token's row read from shared memory at one token
 * (AS = 1: copied once a block; run 86's rotated playground, v50 against v44:
 * 0.89x mlp1, 0.85x mlp2 at M = 1, slower at 2 and 8 tokens, where form 3
 * stays; run 87, one binary: 20b batch 1 437 -> 463 tok/s, +5.9%, 120b 304 ->
 * 321, +5.6%; 12 or 24 k-steps in flight instead of 6 were slower at every M,
 * in the playground and in the engine: run 86). Every form runs the same
 * chain (the same bits). */
static int moe_gemv_form(void) {
    static int v = -1;
    if (v < 0)
        v = env_digit("GETP_MOE_GEMV", 4, 0, 4,
                      "0 (the form before run 76), 1 (before run 78), 2 (before run 81), 3 (before run 87) or "
                      "4 (the default)");
    return v;
}

/* One moe_gemv form on the grid every form shares: a slot per 16 pairs (spare
 * ones exit) by the column groups of 4 warps x NT tiles (of TILE_N weight
 * rows, TILE_M with WT). */
template <int EPI, bool MX, int NT, int U, bool HALF, int MINB = 3, bool SP = false, bool WT = false, int AS = 0>
static void gemv_launch_as(const MoeArgs &a, hipStream_t stream) {
    const int cols = (MOE_GEMV_THREADS / GETP_WAVE) * NT * (WT ? TILE_M : TILE_N);
    dim3 grid(moe_grid_slots(a.M * a.k, MOE_GEMV_BM, a.E), (a.N + cols - 1) / cols);
    const size_t smem = (size_t)(a.M < AS ? a.M : AS) * a.K * 2; // AS: the slot's rows, min(M, AS)
    auto fn = moe_gemv<EPI, MX, NT, U, HALF, AS, MINB, SP, false, WT>;
    if (AS > 0) { // past the 48 KB default (K over 24,576 at AS = 1) the limit is raised, once (before any capture)
        static size_t raised = 48 << 10;
        if ((size_t)AS * a.K * 2 > raised) {
            raised = (size_t)AS * a.K * 2;
            GPU_CHECK(hipFuncSetAttribute((const void *)fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)raised));
        }
    }
    port_launch(fn, grid, MOE_GEMV_THREADS, smem, stream, a);
}

/* Up to 8 tokens no expert has more than 8 pairs: one A row a lane (HALF), for
 * MXFP4 in the form above. Otherwise 2 tiles a warp and 8 k-steps in flight for
 * MXFP4 (the weights stay raw until their mma), 4 for bf16. */
template <int EPI, bool MX>
static void gemv_launch(const MoeArgs &a, hipStream_t stream) {
    const bool half = a.M <= MOE_GEMV_BM / 2;
    const int form = MX && half ? moe_gemv_form() : 0;
    const bool pairs = (a.K / TILE_K) % 2 == 0; // scale pairs: 2-byte aligned rows of K / 32 bytes
    if (form == 4 && pairs && a.M == 1) gemv_launch_as<EPI, true, 1, 6, true, 4, true, true, 1>(a, stream);
    else if (form >= 3 && pairs) gemv_launch_as<EPI, true, 1, 6, true, 4, true, true>(a, stream);
    else if (form >= 2 && pairs) gemv_launch_as<EPI, true, 2, 6, true, 4, true>(a, stream);
    else if (form >= 1) gemv_launch_as<EPI, true, 2, 6, true, 4>(a, stream);
    else if (half) gemv_launch_as<EPI, MX, 2, MX ? 8 : 4, true>(a, stream);
    else gemv_launch_as<EPI, MX, 2, MX ? 8 : 4, false>(a, stream);
}

template <int EPI, bool MX, int WARPS_M>
static void tiled_launch(const MoeArgs &a, hipStream_t stream) {
    typedef MoeTiled<WARPS_M, 4> C;
    const int P = a.M * a.k;
    dim3 grid(moe_grid_slots(P, C::BM, a.E), (a.N + C::BN - 1) / C::BN);
    port_launch(moe_tiled<EPI, MX, WARPS_M, 4>, grid, C::THREADS, 0, stream, a);
}

/* Past 48 KB of dynamic shared memory a kernel needs its limit raised. */
template <int EPI, int WARPS_M>
static void staged_launch(const MoeArgs &a, hipStream_t stream) {
    typedef MoeTiled<WARPS_M, 4> C;
    constexpr size_t smem = moe_staged_smem<WARPS_M, 4>();
    const void *fn = (const void *)MOE_STAGED_KERNEL(EPI, WARPS_M, 4);
    GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const int P = a.M * a.k;
    dim3 grid(moe_grid_slots(P, C::BM, a.E), (a.N + C::BN - 1) / C::BN);
    port_launch(MOE_STAGED_KERNEL(EPI, WARPS_M, 4), grid, C::THREADS, smem, stream, a);
}

void moe_launch_gemv(const MoeArgs &a, int epi, hipStream_t stream) {
    const bool mx = a.w.is_mxfp4;
    if (epi == MOE_MLP1) mx ? gemv_launch<MOE_MLP1, true>(a, stream) : gemv_launch<MOE_MLP1, false>(a, stream);
    else mx ? gemv_launch<MOE_MLP2, true>(a, stream) : gemv_launch<MOE_MLP2, false>(a, stream);
}

void moe_launch_tiled(const MoeArgs &a, int epi, int warps_m, hipStream_t stream) {
    const bool mx = a.w.is_mxfp4;
    if (mx) { // MXFP4: the staged kernel
        if (warps_m == 1) epi == MOE_MLP1 ? staged_launch<MOE_MLP1, 1>(a, stream) : staged_launch<MOE_MLP2, 1>(a, stream);
        else epi == MOE_MLP1 ? staged_launch<MOE_MLP1, 2>(a, stream) : staged_launch<MOE_MLP2, 2>(a, stream);
        return;
    }
    if (warps_m == 1) {
        if (epi == MOE_MLP1) mx ? tiled_launch<MOE_MLP1, true, 1>(a, stream) : tiled_launch<MOE_MLP1, false, 1>(a, stream);
        else mx ? tiled_launch<MOE_MLP2, true, 1>(a, stream) : tiled_launch<MOE_MLP2, false, 1>(a, stream);
    } else {
        if (epi == MOE_MLP1) mx ? tiled_launch<MOE_MLP1, true, 2>(a, stream) : tiled_launch<MOE_MLP1, false, 2>(a, stream);
        else mx ? tiled_launch<MOE_MLP2, true, 2>(a, stream) : tiled_launch<MOE_MLP2, false, 2>(a, stream);
    }
}
