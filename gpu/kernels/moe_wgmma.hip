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
 * The weights are decoded through the scale's 8-entry table (mx_table, built
 * in registers once a k-step and row, then byte permutes: ~17 instructions per
 * 8 codes; RESULTS run 89: 1.02-1.035x the bf16x2 arithmetic of
 * mx_dequant8_b, which session 21 retired here); the same bits as every other
 * kernel's decode at every scale byte (selftest: mxfp4 table decode).
 * The stage copies are straight-line code (MoeStages EVEN: KS divides the
 * k-steps, which the dispatch checks; RESULTS run 91: 1.02-1.04x at 32 pairs
 * an expert, 120b quick +1.3%, the same elsewhere). Run 91 also read the next
 * stage's raw rows ahead of the MMAs: alone +-1.5%, with EVEN a spill and
 * 0.99x; not kept.
 * The B descriptors built once a block and offset a stage instead of rebuilt
 * from the pointer (session 21's DESC): 1.00-1.01x in the playground (RESULTS
 * run 93); not kept. */
template <int EPI, int BM, int BN, bool NFAST, int KS = MOE_KS, int NS = MOE_NS,
          int MINB = (BM * BN <= 128 * 128 ? 2 : 1)>
__global__ void __launch_bounds__(256, MINB)
moe_wgmma_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    constexpr int THREADS = 256, CPT = BN * 4 / THREADS;
    constexpr int WGM = BM / 64;         // warpgroups along the rows: 2, or 1 (side by side)
    constexpr int WN = BN * WGM / 2;     // columns a warpgroup multiplies
    static_assert((BM == 128 && (BN == 128 || BN == 256)) || (BM == 64 && BN == 256),
                  "wgmma tiles 128 x 128, 128 x 256, 64 x 256");
    typedef MoeStages<EPI, BM, BN, KS, NS, true> S;
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
        for (int ks = 0; ks < KS; ks++) { // KS divides the k-steps
            const uint4 raw = stages.step(st, ks)[S::SA + drow];
            const MxTable tab = mx_table(stages.sc[ks]);
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                const int c = CPT * dh + cc;
                /* bytes c, c+4, c+8, c+12 of the row's 16 */
                const uint32_t lo = __byte_perm(raw.x, raw.y, (uint32_t)(c | (c + 4) << 4));
                const uint32_t hi = __byte_perm(raw.z, raw.w, (uint32_t)(c | (c + 4) << 4));
                const uint32_t w = __byte_perm(lo, hi, 0x5410);
                d[ks * BN * 4 + (c >> 1) * BN * 2 + (drow >> 3) * 16 + (c & 1) * 8 + (drow & 7)] =
                    mx_dequant8_t(w, tab);
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

/* ---- launchers ---- */

template <int EPI, int BM, int BN, bool NFAST, int KS = MOE_KS, int NS = MOE_NS,
          int MINB = (BM * BN <= 128 * 128 ? 2 : 1)>
static void wgmma_launch(const MoeArgs &a, hipStream_t stream) {
    if ((a.K / 32) % KS) fatal("moe_wgmma_mx: %d k-steps, not a multiple of the %d a stage", a.K / 32, KS);
    auto fn = moe_wgmma_mx<EPI, BM, BN, NFAST, KS, NS, MINB>;
    const size_t smem = moe_wgmma_smem<BM, BN, KS, NS>();
    GPU_CHECK(hipFuncSetAttribute((const void *)fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const unsigned slots = moe_grid_slots(a.M * a.k, BM, a.E), cols = (unsigned)((a.N + BN - 1) / BN);
    port_launch(fn, NFAST ? dim3(cols, slots) : dim3(slots, cols), 256, smem, stream, a);
}

/* rows: 128 (128 x MOE_WG_BN tiles) or 64 (64 x 256 tiles, 2 k-steps a stage,
 * 3 raw stages: 112 KB, two blocks an SM; RESULTS run 88: 1.08-1.12x the one
 * k-step a stage of 4 stages, 1.15x 6). mlp1's blocks slot-fastest, mlp2's
 * column-fastest (run 90: slot-fastest mlp2, 0.7% slower in the 20b quick). */
void moe_launch_wgmma(const MoeArgs &a, int epi, int rows, hipStream_t stream) {
    if (rows == 64) {
        if (epi == MOE_MLP1) wgmma_launch<MOE_MLP1, 64, 256, false, MOE_W64_KS, 3>(a, stream);
        else wgmma_launch<MOE_MLP2, 64, 256, true, MOE_W64_KS, 3>(a, stream);
    } else {
        if (epi == MOE_MLP1) wgmma_launch<MOE_MLP1, 128, MOE_WG_BN, false, MOE_KS, MOE_NS>(a, stream);
        else wgmma_launch<MOE_MLP2, 128, MOE_WG_BN, true, MOE_KS, MOE_NS>(a, stream);
    }
}
