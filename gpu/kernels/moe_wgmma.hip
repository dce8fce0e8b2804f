/* moe_wgmma.hip: the sm_90a extra of the MoE block (fast NVIDIA builds for
 * 90a only), launched by moe_async.hip's NVIDIA dispatch.
 *
 * moe_wgmma_mx: the tiles of moe_staged_mx (moe_tiles.hip; BM = 128 sorted pairs of
 * one expert x BN = 128 or 256 columns, raw MXFP4 bytes and gathered A rows by
 * cp.async, MOE_KS k-steps a stage, weights decoded once per block into
 * shared memory), multiplied by wgmma.mma_async m64n128k16 (or n256): each
 * warpgroup owns 64 rows x 128 (or 256) columns, A comes from registers (the
 * same TileA loads as tile_mma) and B straight from the decoded tile in
 * shared memory, so the warps no longer load B fragments at all. Production:
 * 128 x 256 blocks of four warpgroups (moe_launch_wgmma).
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

template <int BN, int NS = MOE_NS>
constexpr size_t moe_wgmma_smem(void) {
    return (size_t)(NS * MOE_KS * (128 * 4 + BN) + 2 * MOE_KS * BN * 4) * sizeof(uint4);
}

/* BN = 128 or 256 columns, WGN warpgroups along them (1: two warpgroups of
 * 64 rows x BN; 2: four of 64 rows x BN / 2, 512 threads, so a block of 256
 * columns keeps 64 accumulators a thread and the A rows gathered once serve
 * twice the columns); NS raw stages; NFAST: blockIdx.x walks the columns, so
 * the blocks in flight share their A rows (gathered activations, read by
 * every column block) in L2 instead of streaming all A once per column wave. */
template <int EPI, int BN, bool NFAST, int WGN = 1, int NS = MOE_NS>
__global__ void __launch_bounds__(256 * WGN, BN == 128 && WGN == 1 ? 2 : 1)
moe_wgmma_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    constexpr int BM = 128, KS = MOE_KS, THREADS = 256 * WGN, CPT = BN * 4 / THREADS, WN = BN / WGN;
    static_assert(BN == 128 || BN == 256, "128 or 256 columns a block");
    static_assert(WN == 128 || WN == 256, "wgmma n128 / n256 a warpgroup");
    typedef MoeStages<EPI, BM, BN, KS, THREADS, NS> S;
    constexpr int SD = KS * BN * 4;       // uint4 per decoded stage
    extern __shared__ uint4 smem[];       // NS * S::SR + 2 * SD (moe_wgmma_smem)
    uint4 *sdec = smem + NS * S::SR;
    int e, p0, p1;
    if (!moe_slot(a, NFAST ? blockIdx.y : blockIdx.x, BM, &e, &p0, &p1)) return;
    /* warpgroup wg: rows 64 wr .. +63, columns WN wc .. +WN-1 of the block */
    const int tid = threadIdx.x, warp = tid / 32, wg = warp / 4, wr = wg % 2, wc = wg / 2;
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
            const uint32_t sc2 = mx_scale_b2(stages.sc[ks]);
#pragma unroll
            for (int cc = 0; cc < CPT; cc++) {
                const int c = CPT * dh + cc;
                /* bytes c, c+4, c+8, c+12 of the row's 16 */
                const uint32_t lo = __byte_perm(raw.x, raw.y, (uint32_t)(c | (c + 4) << 4));
                const uint32_t hi = __byte_perm(raw.z, raw.w, (uint32_t)(c | (c + 4) << 4));
                const uint32_t w = __byte_perm(lo, hi, 0x5410);
                d[ks * BN * 4 + (c >> 1) * BN * 2 + (drow >> 3) * 16 + (c & 1) * 8 + (drow & 7)] =
                    mx_dequant8_b(w, sc2);
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
    const bool live = p0 + wr * 64 < p1; // warpgroup-uniform: any pair in my 64 rows
    const int kc = tile_k_off() / 8;
    const int arow = wr * 64 + (warp % 4) * 16 + tile_a_row(0);
    const int aoff0 = moe_swz(arow, kc), aoff1 = moe_swz(arow + 8, kc);
    const int boff = wc * (WN / 8) * 16; // the warpgroup's first 8-column core matrices
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
            const uint4 *sb = sdec + (st & 1) * SD + ks * BN * 4 + boff;
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
            const int pos = p0 + wr * 64 + (warp % 4) * 16 + tile_c_row(q);
            const int n = n0 + wc * WN + j * 8 + tile_c_col(q);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, v, partner);
        }
}

/* ---- launcher ---- */

template <int EPI, int BN, bool NFAST, int WGN = 1, int NS = MOE_NS>
static void wgmma_launch(const MoeArgs &a, hipStream_t stream) {
    constexpr size_t smem = moe_wgmma_smem<BN, NS>();
    const void *fn = (const void *)moe_wgmma_mx<EPI, BN, NFAST, WGN, NS>;
    GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const unsigned slots = moe_grid_slots(a.M * a.k, 128, a.E), cols = (unsigned)((a.N + BN - 1) / BN);
    const dim3 grid = NFAST ? dim3(cols, slots) : dim3(slots, cols);
    port_launch(moe_wgmma_mx<EPI, BN, NFAST, WGN, NS>, grid, 256 * WGN, smem, stream, a);
}

/* 128 x 256 blocks of four warpgroups (64 rows x 128 columns each): the
 * gathered A rows, which every column block reads again from L2, serve twice
 * the columns of the 128 x 128 form (two blocks an SM), and L2 traffic was
 * what bounded that form (RESULTS run 54: L2 71% busy, the tensor pipe 34%).
 * Block order (RESULTS run 14): mlp1 slot-fastest, mlp2 column-fastest. */
void moe_launch_wgmma(const MoeArgs &a, int epi, hipStream_t stream) {
    if (epi == MOE_MLP1) wgmma_launch<MOE_MLP1, 256, false, 2>(a, stream);
    else wgmma_launch<MOE_MLP2, 256, true, 2>(a, stream);
}
