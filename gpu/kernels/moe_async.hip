/* moe_async.hip: the NVIDIA extras of the MoE block (extras.h: compiled into
 * the fast NVIDIA build only; moe.hip asks moe_gemm_extra first and falls
 * back to the portable families of moe_tiles.hip when it declines).
 *
 * moe_mid_mx (below) for a few to 28 pairs per expert; the warpgroup-MMA
 * kernel of moe_wgmma.hip for more (64-pair slots up to 60, then 128).
 * Everything else takes the portable families (moe_tiles.hip), whose staged
 * kernel runs on cp.async here. */
#include "moe_common.h"   // MoeArgs helpers, MoeTiled, MoeStages, the MXFP4 decoders
#include "moe_families.h" // moe_launch_wgmma
#include "extras.h"       // moe_gemm_extra
#include "gpu_check.h"

/* ---- NVIDIA, MXFP4, a few to 32 pairs per expert: weights streamed once ----
 * moe_mid_mx: a block owns up to MID_BM = 32 sorted pairs of one expert (two
 * 16-row sub-tiles; the second is skipped when empty) and BN = 64 * NT output
 * columns (8 warps x NT tiles of 8; production NT = 2: 128, 3 blocks = 24
 * warps per SM. Run 18 chose 4 blocks (64 registers) with the arithmetic
 * decode; with the table lookup below 64 registers spill and 3 blocks (76
 * registers) run 6-9% faster than the old production: RESULTS runs 56-57). The raw MXFP4
 * bytes (16 per row and k-step) and the gathered activation rows go to shared
 * memory by 16-byte cp.async, KS k-steps a stage, NS stages deep (~12 KB of
 * weights in flight per block, 36 KB per SM), one barrier per stage. Each lane then reads
 * its 4 raw bytes of a B fragment (8 codes of one row) and decodes them in
 * registers by byte permutes through its scale's table (mx_dequant8_t: the
 * bits of mx_dequant8; the block's shared copy of every scale byte's table,
 * as moe_gemv), so the decoded tile never goes through shared memory: ~18
 * instructions per 8 codes against ~28 for the bf16x2 arithmetic decode
 * (mx_dequant8_b), in a kernel bound by its issue rate (RESULTS run 55:
 * 71% of issue slots busy, 2.7 eligible warps a scheduler). Scales (KS bytes per row and stage) are
 * loaded by the lanes one stage ahead, after an L2 prefetch of the block's
 * scale rows. k-steps run in order through the same tile_mma chain as every
 * other path: rows are bit-identical to the GEMV and tiled kernels. Rows of a
 * sub-tile past the expert's last pair are not loaded (stale shared memory;
 * their results are never stored and an mma row depends only on its own A row).
 * Playground knobs (bench_moe.cu; the defaults are production): NT, NS, MINB
 * (blocks per SM the registers must allow). Tried and dropped (run 18): an L2
 * prefetch-size hint on the weight cp.async (no gain: not memory-bound), one
 * bf16 multiply by 2^(s-1) instead of two (slower with its warp vote). */
#define MOE_MID_THREADS 256
#define MOE_MID_BM 32
#define MOE_MID_NT 2
#define MOE_MID_MINB 3
#define MOE_MID_BN_OF(nt) ((MOE_MID_THREADS / 32) * (nt) * 8)
#define MOE_MID_BN MOE_MID_BN_OF(MOE_MID_NT)
#define MOE_MID_NS 4

template <int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS>
constexpr size_t moe_mid_smem(void) {
    return (size_t)NS * KS * (MOE_MID_BM * 4 + MOE_MID_BN_OF(NT)) * sizeof(uint4);
}

template <int EPI, int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS, int MINB = MOE_MID_MINB>
__global__ void __launch_bounds__(MOE_MID_THREADS, MINB)
moe_mid_mx(MoeArgs a) {
    constexpr int BM = MOE_MID_BM, BN = MOE_MID_BN_OF(NT);
    constexpr int MT = BM / TILE_M;
    constexpr int SA = KS * BM * 4, SB = KS * BN, ST = SA + SB; // uint4 per stage
    static_assert(KS <= 4 && NS >= 2, "KS scale bytes in a word");
    extern __shared__ uint4 smem[];                             // NS * ST
    __shared__ uint4 stab[256]; // every scale byte's table; the main loop's first barrier orders it
    mx_table_fill(stab, MOE_MID_THREADS);
    port_dep_enter(); // port.h "launching": the activations and every write after it
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, BM, &e, &p0, &p1)) return;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int n0 = blockIdx.y * BN;
    const int KG = a.K / 32, nst = KG / KS;
    const int cnt = min(BM, p1 - p0);

    /* L2 prefetch of the block's scale rows (BN x KG bytes, contiguous). */
    {
        const uint8_t *s0 = a.w.scales + ((size_t)e * a.N + n0) * KG;
        const size_t bytes = (size_t)(min(n0 + BN, a.N) - n0) * KG;
        for (size_t off = (size_t)tid * 128; off < bytes; off += (size_t)MOE_MID_THREADS * 128)
            asm volatile("prefetch.global.L2 [%0];\n" ::"l"(s0 + off));
    }
    /* Loader roles, fixed for the block: thread tid copies A chunks tid + h * THREADS
     * (if any) and B chunks tid + h * THREADS (a row's k-steps go to neighbours). */
    constexpr int AI = (SA + MOE_MID_THREADS - 1) / MOE_MID_THREADS;
    constexpr int BI = (SB + MOE_MID_THREADS - 1) / MOE_MID_THREADS;
    const uint16_t *asrc[AI];
#pragma unroll
    for (int h = 0; h < AI; h++) {
        const int i = tid + h * MOE_MID_THREADS;
        const int j = i / (BM * 4), r = (i / 4) % BM, c = i % 4;
        asrc[h] = i < SA && r < cnt ? moe_act_row<EPI>(a, p0 + r) + j * TILE_K + c * 8 : NULL;
    }
    /* 32-bit offsets from the expert's base pointers: fewer registers (MINB > 2) */
    const uint8_t *bbase = a.w.blocks + (size_t)e * a.N * KG * 16;
    uint32_t bsrc[BI]; // ~0u: no chunk (past the stage, or a column past N)
    int bdst[BI];
#pragma unroll
    for (int h = 0; h < BI; h++) {
        const int i = tid + h * MOE_MID_THREADS, n = i / KS, j = i % KS;
        bdst[h] = j * BN + n;
        bsrc[h] = i < SB && n0 + n < a.N ? (uint32_t)(((n0 + n) * KG + j) * 16) : ~0u;
    }
    auto issue = [&](int st, int buf) {
        uint4 *sa = smem + buf * ST, *sb = sa + SA;
#pragma unroll
        for (int h = 0; h < AI; h++)
            if (asrc[h]) port_cp_async16(&sa[tid + h * MOE_MID_THREADS], asrc[h] + (size_t)st * KS * TILE_K);
#pragma unroll
        for (int h = 0; h < BI; h++)
            if (bsrc[h] != ~0u) port_cp_async16(&sb[bdst[h]], bbase + bsrc[h] + st * KS * 16);
    };
#pragma unroll
    for (int st = 0; st < NS - 1; st++) {
        if (st < nst) issue(st, st);
        port_cp_commit();
    }

    /* Lane's B rows (local column index) and their scale pointers. */
    const int g = lane / 4, q = lane % 4;
    int ncol[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) ncol[t] = warp * (NT * 8) + t * 8 + g;
    /* scale row of tile t at sbase + min(srow0 + t * 8 * KG, slast) (columns past N: row N-1) */
    const uint8_t *sbase = a.w.scales + (size_t)e * a.N * KG;
    const uint32_t srow0 = (uint32_t)((n0 + ncol[0]) * KG), slast = (uint32_t)((a.N - 1) * KG);
    auto load_sc = [&](int st, uint32_t *sc) {
#pragma unroll
        for (int t = 0; t < NT; t++) {
            const uint8_t *row = sbase + min(srow0 + (uint32_t)(t * 8 * KG), slast);
            if (KS == 2) sc[t] = *(const uint16_t *)(row + st * 2);
            else {
                sc[t] = 0;
#pragma unroll
                for (int j = 0; j < KS; j++) sc[t] |= (uint32_t)row[st * KS + j] << (8 * j);
            }
        }
    };
    uint32_t sc_cur[NT], sc_nxt[NT] = {};
    load_sc(0, sc_cur);

    TileC acc[MT][NT];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int t = 0; t < NT; t++) tile_zero(&acc[i][t]);
    const int mt_used = (cnt + TILE_M - 1) / TILE_M;

    for (int st = 0; st < nst; st++) {
        port_cp_wait<NS - 2>();
        __syncthreads(); // stage st landed for all; stage st-1 consumed by every warp
        if (st + NS - 1 < nst) issue(st + NS - 1, (st + NS - 1) % NS);
        port_cp_commit();
        if (st + 1 < nst) load_sc(st + 1, sc_nxt);
        const uint4 *sa = smem + (st % NS) * ST;
        const uint32_t *sb = (const uint32_t *)(sa + SA);
#pragma unroll
        for (int j = 0; j < KS; j++) {
            TileA x[MT];
#pragma unroll
            for (int i = 0; i < MT; i++)
                if (i < mt_used) {
#pragma unroll
                    for (int r = 0; r < TILE_A_ROWS; r++)
                        x[i].v[r] = sa[(j * BM + i * TILE_M + tile_a_row(r)) * 4 + q];
                }
#pragma unroll
            for (int t = 0; t < NT; t++) {
                TileB b;
                const uint32_t bytes = sb[(j * BN + ncol[t]) * 4 + q];
                b.v = mx_dequant8_s(bytes, stab, (sc_cur[t] >> (8 * j)) & 0xffu);
#pragma unroll
                for (int i = 0; i < MT; i++)
                    if (i < mt_used) tile_mma(&acc[i][t], &x[i], &b);
            }
        }
#pragma unroll
        for (int t = 0; t < NT; t++) sc_cur[t] = sc_nxt[t];
    }
    port_cp_wait<0>();
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int t = 0; t < NT; t++)
#pragma unroll
            for (int qq = 0; qq < 4; qq++) {
                float partner = tile_c_partner(&acc[i][t], qq);
                int pos = p0 + i * TILE_M + tile_c_row(qq);
                int n = n0 + warp * (NT * 8) + t * 8 + tile_c_col(qq);
                if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[i][t].c[qq], partner);
            }
}
/* ---- launchers and the NVIDIA dispatch ---- */

/* grid: (slots, columns / MOE_MID_BN_OF(NT)). */
template <int EPI, int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS, int MINB = MOE_MID_MINB>
static void moe_launch_mid(dim3 grid, const MoeArgs &a, hipStream_t stream) {
    constexpr size_t smem = moe_mid_smem<KS, NT, NS>();
    const void *fn = (const void *)moe_mid_mx<EPI, KS, NT, NS, MINB>;
    GPU_CHECK(hipFuncSetAttribute(fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    port_launch(moe_mid_mx<EPI, KS, NT, NS, MINB>, grid, MOE_MID_THREADS, smem, stream, a);
}
#if defined(GETP_WGMMA)
/* GETP_NO_WGMMA=1 turns the warpgroup kernel off (A/B runs; same bits either way). */
static bool moe_wgmma_on(void) {
    static int on = -1;
    if (on < 0) on = !env_flag("GETP_NO_WGMMA");
    return on != 0;
}

/* moe_get_w64's range (GETP_MOE_W64; the same bits at every range): P pairs
 * over E experts whose average is in (lo, hi] take moe_wgmma_mx's 64-pair
 * slots (64 x 256 tiles). */
static bool moe_w64_takes(int P, int E) {
    int lo, hi;
    moe_get_w64(&lo, &hi);
    return (long)P > (long)E * lo && (long)P <= (long)E * hi;
}
#endif

/* The NVIDIA choices, MXFP4 weights only (bf16 experts take the portable path):
 *  - 4..32 pairs per expert on average (the 120b's 128 experts at a few hundred
 *    rows): moe_mid_mx, the streaming mma kernel;
 *  - more than 32 per expert: moe_wgmma_mx on sm_90a (GETP_WGMMA builds; from
 *    33 pairs, not 65 as before: at 48 and 64 a 128-row slot on wgmma beat the
 *    64-row staged tiles 1.06-1.57x, and moe_mid_mx won at 32: RESULTS run 58);
 *  - but first, 29..60 per expert (moe_get_w64's default range) with an even
 *    k-step count: moe_wgmma_mx's 64-pair slots (RESULTS run 88: 1.11-1.13x
 *    moe_mid_mx at 32, 1.3-1.4x the 128-pair slots at 48; mid wins up to 28,
 *    the 128-pair slots from 64);
 *  - else decline: moe_gemv, or the portable staged kernel (on cp.async here).
 * Any kernel gives the same bits. */
template <int EPI>
static bool gemm_extra(const MoeArgs &a, hipStream_t stream) {
    const int P = a.M * a.k;
    if (!a.w.is_mxfp4) return false;
#if defined(GETP_WGMMA)
    if (moe_w64_takes(P, a.E) && (a.K / 32) % MOE_W64_KS == 0 && moe_wgmma_on()) {
        moe_launch_wgmma(a, EPI, 64, stream);
        return true;
    }
#endif
    if (P >= a.E * 4 && P <= a.E * MOE_MID_BM) {
        dim3 grid(moe_grid_slots(P, MOE_MID_BM, a.E), (a.N + MOE_MID_BN - 1) / MOE_MID_BN);
        if ((a.K / 32) % 2 == 0 && (uintptr_t)a.w.scales % 2 == 0) moe_launch_mid<EPI, 2>(grid, a, stream);
        else moe_launch_mid<EPI, 1>(grid, a, stream);
        return true;
    }
#if defined(GETP_WGMMA)
    if (P > a.E * MOE_MID_BM && (a.K / 32) % MOE_KS == 0 && moe_wgmma_on()) {
        /* block order measured (RESULTS run 14): mlp1 slot-fastest, mlp2 column-fastest */
        moe_launch_wgmma(a, EPI, 128, stream);
        return true;
    }
#else
    (void)stream;
#endif
    return false;
}

bool moe_gemm_extra(const MoeArgs &a, int epi, hipStream_t stream) {
    return epi == MOE_MLP1 ? gemm_extra<MOE_MLP1>(a, stream) : gemm_extra<MOE_MLP2>(a, stream);
}
