/* moe_wgmma.hip: the sm_90a extra of the MoE block (fast NVIDIA builds for
 * 90a only), launched by moe_async.hip's NVIDIA dispatch.
 *
 * moe_wgmma_mx: the tiles of moe_staged_mx (moe_tiles.hip; BM = 128 sorted pairs of
 * one expert x BN = 128 columns, raw MXFP4 bytes and gathered A rows by
 * cp.async, MOE_KS k-steps a stage, weights decoded once per block into
 * shared memory), multiplied by wgmma.mma_async m64n128k16: warpgroup g of 2
 * owns rows 64g..64g+63, A comes from registers (the same TileA loads as
 * tile_mma) and B straight from the decoded tile in shared memory, so the
 * warps no longer load B fragments at all.
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

/* TAIL: an expert's last slot when it holds 1..64 pairs (moe_slot's
 * MOE_SLOTS_TAIL). A 128-row block would run its second warpgroup's wgmma
 * chain on clamped rows (no branch around the chain, below) and cost a full
 * slot; the tail block takes 64 rows x 2 BN columns instead, warpgroup g
 * columns g BN .. g BN + BN - 1, so a tail costs half a slot's MMAs. Same
 * instruction, fragments and k order per output: the same bits. 3 raw stages
 * keep its shared memory that of the 128-row block (2 blocks an SM). */
template <int KIND>
struct MoeWgTile {
    static constexpr bool TAIL = KIND == MOE_SLOTS_TAIL;
    static constexpr int BM = TAIL ? 64 : 128, NS = TAIL ? 3 : MOE_NS;
};

template <int BN, int KIND>
constexpr size_t moe_wgmma_smem(void) {
    typedef MoeWgTile<KIND> T;
    constexpr int BNB = T::TAIL ? 2 * BN : BN;
    return (size_t)(T::NS * MOE_KS * (T::BM * 4 + BNB) + 2 * MOE_KS * BNB * 4) * sizeof(uint4);
}

/* BN = 128 or 256 columns a warpgroup; NFAST: blockIdx.x walks the columns, so
 * the blocks in flight share their A rows (gathered activations, read by
 * every column block) in L2 instead of streaming all A once per column wave. */
template <int EPI, int BN, bool NFAST, int KIND>
__global__ void __launch_bounds__(256, BN == 128 ? 2 : 1)
moe_wgmma_mx(MoeArgs a) {
    port_dep_enter(); // port.h "launching": nothing read or written before it
    typedef MoeWgTile<KIND> T;
    constexpr bool TAIL = T::TAIL;
    constexpr int BM = T::BM, BNB = TAIL ? 2 * BN : BN; // block rows, block columns
    constexpr int KS = MOE_KS, THREADS = 256, CPT = BNB * 4 / THREADS;
    static_assert(BN == 128 || BN == 256, "wgmma n128 / n256");
    static_assert(BNB <= THREADS, "one decoder row a thread at least");
    typedef MoeStages<EPI, BM, BNB, KS, T::NS> S;
    constexpr int SD = KS * BNB * 4;      // uint4 per decoded stage
    extern __shared__ uint4 smem[];       // T::NS * S::SR + 2 * SD (moe_wgmma_smem)
    uint4 *sdec = smem + T::NS * S::SR;
    int e, p0, p1;
    if (!moe_slot<KIND>(a, NFAST ? blockIdx.y : blockIdx.x, 128, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / 32, wg = warp / 4;
    const int n0 = (NFAST ? blockIdx.x : blockIdx.y) * BNB;
    if (n0 >= a.N) return; // block-uniform, before any barrier
    /* Decoder: thread -> row tid % BNB, chunks CPT * h .. + CPT - 1 (h = tid / BNB). */
    const int drow = tid % BNB, dh = tid / BNB;
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
                d[ks * BNB * 4 + (c >> 1) * BNB * 2 + (drow >> 3) * 16 + (c & 1) * 8 + (drow & 7)] =
                    mx_dequant8_b(w, sc2);
            }
        }
        wg_fence_proxy();
    };
    stages.start();
    decode(0);
    if (nst > 1) stages.load_scales(1);

    float d[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; i++) d[i] = 0.0f;
    const int row0 = TAIL ? 0 : wg * 64;     // my warpgroup's first row of the block
    const int bcol = TAIL ? wg * BN : 0;     // and first column
    const bool live = p0 + row0 < p1;        // warpgroup-uniform: any pair in my 64 rows
    const int kc = tile_k_off() / 8;
    const int arow = row0 + (warp % 4) * 16 + tile_a_row(0);
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
            const uint4 *sb = sdec + (st & 1) * SD + ks * BNB * 4 + bcol * 2;
            wg_mma<BN>(d, x0[ks].x, x1[ks].x, x0[ks].y, x1[ks].y, wg_desc(sb, 128, 256));
            wg_mma<BN>(d, x0[ks].z, x1[ks].z, x0[ks].w, x1[ks].w, wg_desc(sb + BNB * 2, 128, 256));
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
    for (int j = 0; j < BN / 8; j++)
#pragma unroll
        for (int q = 0; q < 4; q++) {
            const float v = d[4 * j + q], partner = d[4 * j + (q ^ 1)];
            const int pos = p0 + row0 + (warp % 4) * 16 + tile_c_row(q);
            const int n = n0 + bcol + j * 8 + tile_c_col(q);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, v, partner);
        }
}

/* ---- launcher ---- */

template <int EPI, int BN, bool NFAST, int KIND>
static void wgmma_launch(const MoeArgs &a, hipStream_t stream) {
    constexpr bool TAIL = KIND == MOE_SLOTS_TAIL;
    constexpr size_t smem = moe_wgmma_smem<BN, KIND>();
    const void *fn = (const void *)moe_wgmma_mx<EPI, BN, NFAST, KIND>;
    GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    const int P = a.M * a.k, bnb = TAIL ? 2 * BN : BN;
    /* at most one tail an expert; the full slots within ALL's bound */
    const unsigned slots = TAIL ? (unsigned)(P < a.E ? P : a.E) : moe_grid_slots(P, 128, a.E);
    const unsigned cols = (unsigned)((a.N + bnb - 1) / bnb);
    const dim3 grid = NFAST ? dim3(cols, slots) : dim3(slots, cols);
    port_launch(moe_wgmma_mx<EPI, BN, NFAST, KIND>, grid, 256, smem, stream, a);
}

/* Two launches: the full slots, then the tails (disjoint pairs; the second
 * waits on the first as every launch does, port.h). GETP_NO_WGMMA_TAIL=1 runs
 * every slot as a full one (A/B runs: the same bits either way). */
template <int EPI, bool NFAST>
static void wgmma_launch_all(const MoeArgs &a, hipStream_t stream) {
    static int tails = -1;
    if (tails < 0) tails = !env_flag("GETP_NO_WGMMA_TAIL");
    if (!tails) {
        wgmma_launch<EPI, MOE_WG_BN, NFAST, MOE_SLOTS_ALL>(a, stream);
        return;
    }
    wgmma_launch<EPI, MOE_WG_BN, NFAST, MOE_SLOTS_FULL>(a, stream);
    wgmma_launch<EPI, MOE_WG_BN, NFAST, MOE_SLOTS_TAIL>(a, stream);
}

void moe_launch_wgmma(const MoeArgs &a, int epi, hipStream_t stream) {
    if (epi == MOE_MLP1) wgmma_launch_all<MOE_MLP1, false>(a, stream);
    else wgmma_launch_all<MOE_MLP2, true>(a, stream);
}
