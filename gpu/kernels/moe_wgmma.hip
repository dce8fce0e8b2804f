/* moe_wgmma.hip: the sm_90a extra of the MoE block (fast NVIDIA builds for
 * 90a only), launched by moe_async.hip's NVIDIA dispatch.
 *
 * moe_wgmma_mx: the tiles of moe_staged_mx (moe_tiles.hip; BM = 128 sorted pairs of
 * one expert x BN = 128 columns, raw MXFP4 bytes and gathered A rows by
 * cp.async, MOE_KS k-steps a stage, weights decoded once per block into
 * shared memory), multiplied by wgmma.mma_async m64n128k16: warpgroup g of 2
 * owns rows 64g..64g+63, A comes from registers (the same TileA loads as
 * tile_mma) and B straight from the decoded tile in shared memory, so the
 * warps no longer load B fragments at all. A second shape, 64 x 256 (the two
 * warpgroups side by side on one 64-pair slot), serves experts with a few
 * dozen pairs.
 *
 * Same bits as tile_mma: wgmma's A fragment is mma.sync m16n8k16's, and the
 * decoded tile stores each row's k-step in the hardware k order that the
 * B fragments of tile_mma have (its instruction 1 takes logical k
 * {0,1,8,9,16,17,24,25 | 2,3,10,11,18,19,26,27}, instruction 2 the same +4):
 * 16-byte chunk c of a row is codes 2j, 2j+1 of raw bytes j = c, c+4, c+8,
 * c+12, one byte permute before the decoder. Chunks sit in the no-swizzle
 * canonical layout (8 rows x 16 bytes per core matrix; LBO = 128 bytes to
 * the next core matrix along k, SBO = 256 to the next 8 rows). */
#include "moe_common.h"   // MoeArgs helpers, MoeStages, the MXFP4 decoders
#include "moe_families.h" // moe_launch_wgmma
#include "gpu_check.h"

#ifndef MOE_WG_BN
#define MOE_WG_BN 128
#endif

/* Shared memory of one block: NS raw stages (BM gathered A rows and BN raw
 * weight rows a k-step, KS k-steps a stage) and two decoded stages. */
template <int BM, int BN, int KS, int NS>
constexpr size_t moe_wgmma_smem(void) {
    return (size_t)(NS * KS * (BM * 4 + BN) + 2 * KS * BN * 4) * sizeof(uint4);
}

/* Tiles: BM x BN = 128 x 128 or 128 x 256 (warpgroup g owns rows 64g..64g+63,
 * every column), or 64 x 256 (both warpgroups on the same 64 rows, g owning
 * columns 128g..128g+127: the slot of 64 pairs, for experts with a few dozen
 * pairs, where a 128-row slot multiplies mostly padding). Either way a
 * warpgroup issues m64 x WN wgmma, WN = 128 or 256, and every output's k-chain
 * is the same, so the bits are too. NFAST: blockIdx.x walks the columns, so
 * the blocks in flight share their A rows (gathered activations, read by
 * every column block) in L2 instead of streaming all A once per column wave.
 * TD: the weights decoded through the scale's 8-entry table (mx_table, built
 * in registers once a k-step and row, then byte permutes: ~17 instructions per
 * 8 codes; RESULTS run 89: 1.02-1.035x), else by bf16x2 arithmetic
 * (mx_dequant8_b, ~32). The same bits below scale byte 255, and the table's
 * are every other kernel's at every scale byte (selftest: mxfp4 table decode). */
template <int EPI, int BM, int BN, bool NFAST, int KS = MOE_KS, int NS = MOE_NS, bool TD = false, int LD = 0,
          int MINB = (BM * BN <= 128 * 128 ? 2 : 1)>
__global__ void __launch_bounds__(256, MINB)
moe_wgmma_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    constexpr int THREADS = 256, CPT = BN * 4 / THREADS;
    constexpr int WGM = BM / 64;         // warpgroups along the rows: 2, or 1 (side by side)
    constexpr int WN = BN * WGM / 2;     // columns a warpgroup multiplies
    static_assert((BM == 128 && (BN == 128 || BN == 256)) || (BM == 64 && (BN == 128 || BN == 256)),
                  "wgmma tiles 128 x 128, 128 x 256, 64 x 256, 64 x 128 (the playground's)");
    typedef MoeStages<EPI, BM, BN, KS, NS, LD> S;
    constexpr int SD = KS * BN * 4;       // uint4 per decoded stage
    extern __shared__ uint4 smem[];       // NS * S::SR + 2 * SD (moe_wgmma_smem)
    uint4 *sdec = smem + NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, NFAST ? blockIdx.y : blockIdx.x, BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / 32, wg = warp / 4;
    const int wm = WGM == 2 ? wg : 0, wn = WGM == 2 ? 0 : wg; // my rows 64 wm.., columns WN wn..
    const int n0 = (NFAST ? blockIdx.x : blockIdx.y) * BN;
    /* Decoder: thread -> row tid % BN, chunks CPT * h .. + CPT - 1 (h = tid / BN). */
    const int drow = tid % BN, dh = tid / BN;
    S stages(a, smem, e, p0, p1, n0, drow);
    const int nst = stages.stages();
    auto decode = [&](int st) {
        uint4 *d = sdec + (st & 1) * SD;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            if (st * KS + ks >= stages.nsteps) break;
            const uint4 raw = stages.step(st, ks)[S::SA + drow];
            const uint32_t sc2 = TD ? 0u : mx_scale_b2(stages.sc[ks]);
            MxTable tab = {0u, 0u, 0u, 0u};
            if (TD) tab = mx_table(stages.sc[ks]);
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                const int c = CPT * dh + cc;
                /* bytes c, c+4, c+8, c+12 of the row's 16 */
                const uint32_t lo = __byte_perm(raw.x, raw.y, (uint32_t)(c | (c + 4) << 4));
                const uint32_t hi = __byte_perm(raw.z, raw.w, (uint32_t)(c | (c + 4) << 4));
                const uint32_t w = __byte_perm(lo, hi, 0x5410);
                d[ks * BN * 4 + (c >> 1) * BN * 2 + (drow >> 3) * 16 + (c & 1) * 8 + (drow & 7)] =
                    TD ? mx_dequant8_t(w, tab) : mx_dequant8_b(w, sc2);
            }
        }
        wg_fence_proxy();
    };
    stages.start();
    decode(0);
    if (nst > 1) stages.load_scales(1);

    float d[WN / 2];
#pragma unroll
    for (int i = 0; i < WN / 2; i++) d[i] = 0.0f;
    const bool live = p0 + wm * 64 < p1; // warpgroup-uniform: any pair in my 64 rows
    const int kc = tile_k_off() / 8;
    const int arow = wm * 64 + (warp % 4) * 16 + tile_a_row(0);
    const int aoff0 = moe_swz(arow, kc), aoff1 = moe_swz(arow + 8, kc);
    for (int st = 0; st < nst; st++) {
        stages.advance(st);
        /* No branch around the wgmma chain (ptxas serializes wgmma on divergent
         * paths): KS divides the k-steps (moe_gemm checks), and a warpgroup
         * whose rows are all past the expert's pairs multiplies clamped rows
         * whose results are never stored. */
        uint4 x0[KS], x1[KS];
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const uint4 *sa = stages.step(st, ks);
            x0[ks] = sa[aoff0];
            x1[ks] = sa[aoff1];
        }
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            /* my columns' core matrices: 8 columns = 16 uint4 (SBO 256 bytes) */
            const uint4 *sb = sdec + (st & 1) * SD + ks * BN * 4 + wn * WN * 2;
            wg_mma<WN>(d, x0[ks].x, x1[ks].x, x0[ks].y, x1[ks].y, wg_desc(sb, 128, 256));
            wg_mma<WN>(d, x0[ks].z, x1[ks].z, x0[ks].w, x1[ks].w, wg_desc(sb + BN * 2, 128, 256));
        }
        wg_commit();
        if (st + 1 < nst) {
            decode(st + 1);
            if (st + 2 < nst) stages.load_scales(st + 2);
        }
        wg_wait0();
    }
    if (!live) return;
#pragma unroll
    for (int j = 0; j < WN / 8; j++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float v = d[4 * j + q], partner = d[4 * j + (q ^ 1)];
            const int pos = p0 + wm * 64 + (warp % 4) * 16 + tile_c_row(q);
            const int n = n0 + wn * WN + j * 8 + tile_c_col(q);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, v, partner);
        }
}

/* moe_wgmma_rs (playground only, bench_moe v66 / v67; not dispatched): the
 * weights as wgmma's A operand, decoded straight into registers, and the
 * slot's 64 pairs as N from shared memory. A lane's A fragment of one row and
 * k-step is 8 consecutive codes (logical k 8t..8t+7, t = lane % 4: one 4-byte
 * word of the raw row, decoded through the block's scale tables), as the
 * activations' natural chunk t is in moe_wgmma_mx; so the pairs' rows are staged
 * in the k order that those fragments' hardware k positions ask: chunk c of a
 * row = word c of each of its four natural 16-byte chunks. No decoded tile in
 * shared memory (the 64-pair kernel's 64 KB) and no decode ahead: the other
 * warps hide it. Tile 64 pairs x 128 MT columns, warpgroup g owning columns
 * 64 MT g.. as MT m64 tiles. Every output sums the same products at the
 * same hardware k positions as every other kernel, only with A and B swapped:
 * the same bits if the tensor cores' sums do not care which operand is A (so
 * for mma.sync: moe_gemv's WT form); the playground compares bitwise. */
template <int MT, int KS, int NS>
constexpr size_t moe_wgmma_rs_smem(void) {
    return (size_t)(NS * KS * (64 * 4 + 128 * MT) + 2 * KS * 64 * 4) * sizeof(uint4);
}

template <int EPI, bool NFAST, int MT, int KS, int NS, int MINB>
__global__ void __launch_bounds__(256, MINB)
moe_wgmma_rs(MoeArgs a) {
    constexpr int BM = 64, BN = 128 * MT, THREADS = 256;
    typedef MoeStages<EPI, BM, BN, KS, NS> S;
    constexpr int SP = KS * BM * 4;  // uint4 per staged stage of the pairs' permuted rows
    extern __shared__ uint4 smem[];  // NS * S::SR + 2 * SP (moe_wgmma_rs_smem)
    __shared__ uint4 stab[256];      // every scale byte's table; start()'s barrier orders it
    mx_table_fill(stab, THREADS);
    port_dep_enter(); // port.h "launching": the activations and every write after it
    uint4 *sact = smem + NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, NFAST ? blockIdx.y : blockIdx.x, BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, wg = warp / 4, t = lane % 4;
    const int n0 = (NFAST ? blockIdx.x : blockIdx.y) * BN;
    const int KG = a.K / 32;
    S stages(a, smem, e, p0, p1, n0, 0); // its decoder-row scales are not used here
    const int nst = stages.stages();
    /* my rows: tile m, half h: wg * 64 MT + m * 64 + (warp % 4) * 16 + lane / 4 + 8h */
    const int rbase = wg * 64 * MT + (warp % 4) * 16 + lane / 4;
    const uint8_t *scb = a.w.scales + (size_t)e * a.N * KG;
    uint32_t scoff[MT][2];
#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int h = 0; h < 2; h++) scoff[m][h] = (uint32_t)min(n0 + rbase + m * 64 + 8 * h, a.N - 1) * KG;
    /* the scale bytes of a stage's KS k-steps for my 4 rows, one word a row */
    auto scales = [&](int st, uint32_t (&out)[MT][2]) {
#pragma unroll
        for (int m = 0; m < MT; m++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
                uint32_t v = 0;
#pragma unroll
                for (int ks = 0; ks < KS; ks++)
                    if (st * KS + ks < stages.nsteps) v |= (uint32_t)scb[scoff[m][h] + st * KS + ks] << (8 * ks);
                out[m][h] = v;
            }
    };
    /* stage st's pair rows -> sact[st & 1] in the permuted k order (threads < KS * BM) */
    auto permute = [&](int st) {
        if (tid < KS * BM) {
            const int p = tid % BM, ks = tid / BM;
            if (st * KS + ks < stages.nsteps) {
                const uint4 *src = stages.step(st, ks);
                const uint4 c0 = src[moe_swz(p, 0)], c1 = src[moe_swz(p, 1)], c2 = src[moe_swz(p, 2)],
                            c3 = src[moe_swz(p, 3)];
                const uint4 o[4] = {make_uint4(c0.x, c1.x, c2.x, c3.x), make_uint4(c0.y, c1.y, c2.y, c3.y),
                                    make_uint4(c0.z, c1.z, c2.z, c3.z), make_uint4(c0.w, c1.w, c2.w, c3.w)};
                uint4 *d = sact + (st & 1) * SP + ks * BM * 4;
#pragma unroll
                for (int c = 0; c < 4; c++) d[(c >> 1) * BM * 2 + (p >> 3) * 16 + (c & 1) * 8 + (p & 7)] = o[c];
            }
        }
        wg_fence_proxy();
    };
    stages.start();
    uint32_t sc[MT][2], scn[MT][2];
    scales(0, sc);
    permute(0);
    if (nst > 1) scales(1, scn);

    float d[MT][32];
#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int i = 0; i < 32; i++) d[m][i] = 0.0f;
    for (int st = 0; st < nst; st++) {
        stages.advance(st); // the permuted rows of st visible, st + 1 landed
        /* KS divides the k-steps (the launcher checks): no branch around the chain */
        uint4 w[KS][MT][2];
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const uint4 *raw = stages.step(st, ks) + S::SA;
#pragma unroll
            for (int m = 0; m < MT; m++)
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const uint32_t word = ((const uint32_t *)&raw[rbase + m * 64 + 8 * h])[t];
                    w[ks][m][h] = mx_dequant8_s(word, stab, (sc[m][h] >> (8 * ks)) & 0xffu);
                }
        }
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            const uint4 *sb = sact + (st & 1) * SP + ks * BM * 4;
#pragma unroll
            for (int m = 0; m < MT; m++) {
                wg_mma<BM>(d[m], w[ks][m][0].x, w[ks][m][1].x, w[ks][m][0].y, w[ks][m][1].y, wg_desc(sb, 128, 256));
                wg_mma<BM>(d[m], w[ks][m][0].z, w[ks][m][1].z, w[ks][m][0].w, w[ks][m][1].w,
                           wg_desc(sb + BM * 2, 128, 256));
            }
        }
        wg_commit();
        if (st + 1 < nst) {
            permute(st + 1);
#pragma unroll
            for (int m = 0; m < MT; m++) sc[m][0] = scn[m][0], sc[m][1] = scn[m][1];
            if (st + 2 < nst) scales(st + 2, scn);
        }
        wg_wait0();
    }
    /* d[m][4j + q]: column (weight row) rbase + m * 64 + 8 (q / 2), pair 8j + 2t + q % 2;
     * mlp1's partner column n ^ 1 is lane ^ 4's same item */
#pragma unroll
    for (int m = 0; m < MT; m++)
#pragma unroll
        for (int j = 0; j < BM / 8; j++)
#pragma unroll
            for (int q = 0; q < 4; q++) {
                const float v = d[m][4 * j + q], partner = GETP_SHFL_XOR(v, 4);
                const int n = n0 + rbase + m * 64 + 8 * (q / 2), pos = p0 + 8 * j + 2 * t + q % 2;
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, v, partner);
            }
}

/* ---- launchers ---- */

/* A block of 256 threads on each (slot of bm pairs, block of bn columns),
 * blockIdx.x the columns if NFAST, with smem bytes of dynamic shared memory. */
template <bool NFAST>
static void slot_launch(void (*fn)(MoeArgs), size_t smem, int bm, int bn, const MoeArgs &a,
                        hipStream_t stream) {
    GPU_CHECK(hipFuncSetAttribute((const void *)fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const unsigned slots = moe_grid_slots(a.M * a.k, bm, a.E), cols = (unsigned)((a.N + bn - 1) / bn);
    port_launch(fn, NFAST ? dim3(cols, slots) : dim3(slots, cols), 256, smem, stream, a);
}

template <int EPI, bool NFAST, int MT, int KS, int NS, int MINB>
static void wgmma_rs_launch(const MoeArgs &a, hipStream_t stream) {
    slot_launch<NFAST>(moe_wgmma_rs<EPI, NFAST, MT, KS, NS, MINB>, moe_wgmma_rs_smem<MT, KS, NS>(), 64,
                       128 * MT, a, stream);
}

template <int EPI, int BM, int BN, bool NFAST, int KS = MOE_KS, int NS = MOE_NS, bool TD = false, int LD = 0,
          int MINB = (BM * BN <= 128 * 128 ? 2 : 1)>
static void wgmma_launch(const MoeArgs &a, hipStream_t stream) {
    slot_launch<NFAST>(moe_wgmma_mx<EPI, BM, BN, NFAST, KS, NS, TD, LD, MINB>, moe_wgmma_smem<BM, BN, KS, NS>(),
                       BM, BN, a, stream);
}

/* rows: 128 (128 x MOE_WG_BN tiles) or 64 (64 x 256 tiles, 2 k-steps a stage,
 * 3 raw stages: 112 KB, two blocks an SM; RESULTS run 88: 1.08-1.12x the one
 * k-step a stage of 4 stages, 1.15x 6). */
template <bool TD, bool NFAST2 = true>
static void launch_wgmma(const MoeArgs &a, int epi, int rows, hipStream_t stream) {
    if (rows == 64) {
        if (epi == MOE_MLP1) wgmma_launch<MOE_MLP1, 64, 256, false, MOE_W64_KS, 3, TD>(a, stream);
        else wgmma_launch<MOE_MLP2, 64, 256, NFAST2, MOE_W64_KS, 3, TD>(a, stream);
    } else {
        if (epi == MOE_MLP1) wgmma_launch<MOE_MLP1, 128, MOE_WG_BN, false, MOE_KS, MOE_NS, TD>(a, stream);
        else wgmma_launch<MOE_MLP2, 128, MOE_WG_BN, NFAST2, MOE_KS, MOE_NS, TD>(a, stream);
    }
}

/* A/B runs, the same bits either way: GETP_MOE_WG_TABLE=0, the arithmetic
 * decode; GETP_MOE_MLP2_ORDER=1, mlp2's blocks slot-fastest as mlp1's (the
 * table decode only; RESULTS run 89's playground lead: 2-9% at M = 384-2,048). */
void moe_launch_wgmma(const MoeArgs &a, int epi, int rows, hipStream_t stream) {
    static int td = -1, sf2 = -1;
    if (td < 0) {
        td = env_digit("GETP_MOE_WG_TABLE", 1, 0, 1, "1 the table decode (default) or 0 the bf16x2 arithmetic");
        sf2 = env_digit("GETP_MOE_MLP2_ORDER", 0, 0, 1, "0 columns fastest (default) or 1 slots fastest");
    }
    if (!td) launch_wgmma<false>(a, epi, rows, stream);
    else if (sf2) launch_wgmma<true, false>(a, epi, rows, stream);
    else launch_wgmma<true>(a, epi, rows, stream);
}
