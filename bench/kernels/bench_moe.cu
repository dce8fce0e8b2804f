/* bench_moe.cu: playground for the MoE grouped GEMMs at gpt-oss-20b shape
 * (E=32, top-4, H=I=2880, MXFP4 experts; BENCH_E=128: the 120b's experts).
 * Includes gpu/kernels/moe*.hip so each variant can be forced. Validates 256
 * sampled outputs of mlp1 (h, NMSE <= 2e-5: bf16 output) and mlp2 (NMSE <=
 * 1e-8) against a double reference, then times median of 20 after 5 warm-ups.
 * GB/s counts the MXFP4 bytes of the experts actually used once; the weights
 * (400 MB; 1.7 GB at E=128) exceed L2.
 *   v27 / v28 / v29 (M <= 8, one A row a lane as auto): moe_gemv NT = 2 with U = 16 and 12
 *   k-steps in flight, NT = 1 with U = 16 (session 11: at M = 1 the expert GEMVs run at
 *   1.1-1.6 TB/s, about what 2 KB a warp in flight allows (Little), now that the table
 *   decode cut their instructions); must give auto's bits. v30 / v31 / v32: the same with
 *   the slot's A rows staged once in shared memory (moe_gemv's AS; the ring holds only the
 *   raw weights and scales): NT = 2, U = 16 / 24; NT = 1, U = 32.
 *   v33..v39 (M <= 8, one A row a lane, session 15): moe_gemv's registers bounded for more
 *   blocks an SM (MINB; run 75's ncu: 167 registers, 3 blocks, issue 36-45% busy), with NT
 *   tiles a warp and U k-steps in flight: NT/U/MINB 2/8/4, 1/8/4, 1/8/5, 1/4/8, 2/4/5,
 *   1/6/6, 2/6/4; the same chain: must give auto's bits. v40 / v41: v39 (production since
 *   run 77) and v37 with the scale bytes loaded two k-steps at a time (SP). v42 / v43: v39 and
 *   the 2/8/3 form on a copy of the weights in row groups (moe_gemv's RG: a tile's 8 rows of a
 *   k-step in one 128-byte line of codes and 8 bytes of scales). (Run 78 also timed v39 / v40
 *   with each step's scale table read a step ahead: 1.00-1.04x the time; removed.) v44 / v45:
 *   v40 (production until run 81) / v39 with the weights as the MMA's A operand (moe_gemv's
 *   WT; NT = 1 tile of 16 weight rows = v39's 2 tiles of 8), the token rows as B: no A-row
 *   copies (v44 is production, "auto", since run 81).
 *   v46 / v47: v44 bounded for 5 blocks an SM / with 8 k-steps in flight (WT's 96-99
 *   registers leave room for either; run 81b: within noise). v48 / v49: v44 with K in 4 /
 *   2 parts (moe_gemv's KP: a warp a part, summed in part order by the part-0 warp): what
 *   a split of K would give the expert GEMVs; other bits than auto (BITS DIFFER expected;
 *   run 83: 1.08x / 0.83x at one token, 1.2-1.4x at 8). v50 / v51 / v52: v44 with the
 *   tokens' rows in shared memory (moe_gemv's AS with WT), so the ring holds only the raw
 *   weights and scales, and 6 / 12 / 24 k-steps of them in flight (v52 at 3 blocks an SM;
 *   119 / 128 / 166 registers): run 85's ncu has mlp2 at one token on 1.4 warps a
 *   scheduler stalled on long scoreboard, ~1.5 KB of weights in flight a warp. Same bits.
 *   v53: v44 with 12 k-steps in flight, the token row in the ring (v51 without AS).
 *   v54 / v55 (M = 1 only): v50 on a copy of the weights in lane groups (moe_gemv_lq
 *   below: a lane's pieces of 4 k-steps in one 16-byte load), 8 / 12 k-steps in flight.
 *   Run 86 (rotated): v50 0.89x / 0.85x of v44 at M = 1 (production at one token since
 *   run 87, "auto"), slower at 2 and 8; v51-v53 slower than v44 at every M. v44 is
 *   "auto" before run 87 yet timed ~1.5 us slower at M = 1: the variants launched from
 *   here set their shared memory limit at every call (gemv() below), probably the
 *   difference in queued timing (not measured apart); compare variants with each other.
 *   v1 gemv<2,8> (16 pairs a pass, weights streamed; the dispatch until run 28, which
 *   at M <= 8 gives "auto" one A row a lane and 16 k-steps in flight)  v2 tiled 64x128
 *   v3 tiled 128x128   auto = the dispatcher's choice
 *   v4 / v5 staged 128x128 (cp.async, decode once per block; MOE_KS k-steps a stage)
 *   v6 staged 64x128
 *   v7 wgmma 128x128 (sm_90a, -DGETP_WGMMA=1): v5's stages, warpgroup MMA
 *   v8 v7 with column-fastest block order; v9 / v10: 128x256 tiles, slot / column fastest
 *   v24 wgmma 64x256 (64-row slots, the warpgroups side by side; 1 k-step a stage, 4 raw
 *   stages), v25 2 k-steps x 3 stages (GETP_MOE_W64's kernel), v26 1 x 6; v56 v24 with
 *   mlp2 slot-fastest too. Since session 21 every wgmma version decodes through the
 *   scale's table (run 89's TD; v57 / v58 / v59, which added it to v25 / v7 / v8, are now
 *   v25 / v7 / v8 themselves) and issues its stage copies as straight-line code (run 91's
 *   FORM 1, v68; the bounded copies before it, v25 then, are gone). Retired after run 90
 *   (slower): v60..v63 (the stage loads row by row, the scale pairs in one load), v64 /
 *   v65 (64 x 128 tiles at 3 / 2 blocks an SM), v66 / v67 (moe_wgmma_rs: the weights as
 *   wgmma's A in registers); after run 91: v69..v72 (the raw rows read ahead); after
 *   run 93: v73 / v74 (v25 / v7 with the B descriptors built once a block, DESC: 1.00-1.01x).
 *   v7..v10, v24..v26 and v56 must give auto's bits.
 *   v11 moe_mid_mx as dispatched until run 18 (KS=2, NT=4, 2 blocks/SM; only P in
 *   [4E, 32E]), and its knobs: v14 NT=2 (BN=128) 3 blocks/SM (production since run 56,
 *   the table decode), v15 KS=3 (K=2880 has 90 k-steps: KS=4 does not divide), v17 NT=2
 *   4 blocks/SM (production from run 18 to 56; spills with the table decode).
 *   Retired after run 18 (no gain): cp.async L2 size hints on the weights, v16 one bf16
 *   multiply per decoded pair, v18, v19. v12 / v13: moe_gemv with one tile a warp (NT = 1,
 *   twice v1's warps) and U = 8 / 16; v20..v23 split-K moe_gemv (session 8: S = ceil(K/32 /
 *   KP) warps per 8-column tile, parts summed in order: other bits than auto); v1, v12 and v13 must give auto's bits. (NT=4 at 3 blocks/SM
 *   spills.) v14.. must give v11's bits (compared bytewise: "BITS DIFFER" otherwise).
 * Env: BENCH_E experts (32), BENCH_M / BENCH_V comma lists of M / versions (all);
 * BENCH_ROTATE=0: every timing rep on the validated routing (before session 19 the
 * reps did so, and at few tokens found their 4 experts' weights in L2; now rep i
 * routes to rotation i % NROT of the experts, as the engine's layers read DRAM).
 * Build: bench/device.sh does it (nvcc -x cu with -Igpu -Igpu/kernels -Igpu/port -Isrc). */
#include "../../gpu/kernels/moe.hip"
#include "../../gpu/kernels/moe_tiles.hip"
#include "../../gpu/kernels/moe_async.hip"
#if defined(GETP_WGMMA)
#include "../../gpu/kernels/moe_wgmma.hip"
#endif
#include "bench_util.h"

template <int EPI, int KS, int NT = MOE_MID_NT, int NS = MOE_MID_NS, int MINB = MOE_MID_MINB>
static void mid(const MoeArgs &a) {
    constexpr int BN = MOE_MID_BN_OF(NT);
    dim3 grid((a.M * a.k + MOE_MID_BM - 1) / MOE_MID_BM + a.E, (a.N + BN - 1) / BN);
    moe_launch_mid<EPI, KS, NT, NS, MINB>(grid, a, 0);
}
#define NVER 75
#define NROT 8 // expert rotations the timing reps walk (main)

/* Split-K experiment (session 8): moe_gemv with one 8-column tile a block and
 * S = ceil(nsteps / KP) warps, warp p running k-steps [p*KP, (p+1)*KP) as its
 * own chain from zero; the parts summed in order through shared memory. */
template <int EPI, int KP, int U>
__global__ void __launch_bounds__(512)
moe_gemv_split(MoeArgs a) {
    extern __shared__ float sred[];  // [S][4][wave]
    port_dep_enter();
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, MOE_GEMV_BM, &e, &p0, &p1)) return;
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = blockIdx.y * TILE_N;
    const int s0 = warp * KP, nsteps = min(KP, a.K / TILE_K - s0), koff = tile_k_off();
    const uint16_t *arow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        arow[r] = moe_act_row<EPI>(a, min(p0 + tile_a_row(r), p1 - 1)) + koff + s0 * TILE_K;
    const size_t brow = (size_t)e * a.N + min(n0 + tile_b_row(), a.N - 1);
    const size_t g0 = brow * (size_t)(a.K / 32) + s0;
    const uint8_t *pb = a.w.blocks + g0 * 16 + koff / 2, *ps = a.w.scales + g0;
    uint32_t raw[U], scl[U];
    TileA x[U];
    auto load = [&](int u, int s) {
        raw[u] = *(const uint32_t *)(pb + (size_t)s * 16);
        scl[u] = ps[s];
#pragma unroll
        for (int r = 0; r < TILE_A_ROWS; r++) moe_gemv_load_a(&x[u], r, arow[r] + (size_t)s * TILE_K);
    };
    bool bad = false;
    TileC acc;
    auto step = [&](int u) {
        TileB bt;
        bad |= !mx_int_ok(scl[u]);
        bt.v = mx_dequant8_t(raw[u], mx_table_int<PortBytes>(scl[u]));
        tile_mma(&acc, &x[u], &bt);
    };
    auto step_exact = [&](int u) {
        TileB bt;
        bt.v = mx_dequant8(raw[u], mx_scale(scl[u]));
        tile_mma(&acc, &x[u], &bt);
    };
    tile_zero(&acc);
    tile_ring<U>(nsteps, load, step);
    if (port_any(bad)) {
        tile_zero(&acc);
        tile_ring<U>(nsteps, load, step_exact);
    }
    if (!bu_split_sum(&acc, sred)) return;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float partner = tile_c_partner(&acc, i);
        const int pos = p0 + tile_c_row(i), n = n0 + tile_c_col(i);
        if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc.c[i], partner);
    }
}

template <int EPI, int KP, int U>
static void gemv_split(const MoeArgs &a) {
    const int S = (a.K / TILE_K + KP - 1) / KP;
    dim3 grid(moe_grid_slots(a.M * a.k, MOE_GEMV_BM, a.E), (a.N + TILE_N - 1) / TILE_N);
    moe_gemv_split<EPI, KP, U><<<grid, S * GETP_WAVE, S * 4 * GETP_WAVE * 4>>>(a);
}

/* v54 / v55 (session 19; run 86's reading: at one token the expert GEMV is
 * bound by its load path, not by bytes in flight): v50 (production at one
 * token since run 87: WT, the token row in shared memory) on a copy of the
 * weights in lane groups (LQ): within every 4 k-steps of a row (64 bytes of
 * codes) the 4-byte pieces ordered [lane piece q][step] instead of [step][q],
 * rows padded to whole groups (codes and scale bytes: kgp k-steps a row), so a
 * lane's pieces of 4 k-steps are one 16-byte load and a row's 4 scale bytes one
 * 4-byte load: a quarter of v50's code loads and half its scale loads for the
 * same bytes. NG groups of 4 k-steps in flight. The same values through the
 * same chain: auto's bits. One token only (one staged row a slot). */
template <int EPI, int NG>
__global__ void __launch_bounds__(MOE_GEMV_THREADS, 4)
moe_gemv_lq(MoeArgs a, const uint8_t *lq_blocks, const uint8_t *lq_scales, int kgp) {
    constexpr int RW = TILE_A_ROWS;
    __shared__ uint4 stab[256];
    mx_table_fill(stab, MOE_GEMV_THREADS);
    __syncthreads();
    port_dep_enter();
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, MOE_GEMV_BM, &e, &p0, &p1)) return;
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = (blockIdx.y * (MOE_GEMV_THREADS / GETP_WAVE) + warp) * TILE_M;
    extern __shared__ uint4 as_rows[]; // the slot's one row (K / 8 chunks)
    const int kc = a.K / 8;
    for (int i = threadIdx.x; i < kc; i += MOE_GEMV_THREADS)
        as_rows[i] = *(const uint4 *)(moe_act_row<EPI>(a, p0) + (size_t)i * 8);
    __syncthreads();
    if (n0 >= a.N) return;
    const int nsteps = a.K / TILE_K, ngroups = (nsteps + 3) / 4, q = tile_k_off() / 8;
    const uint8_t *pb[RW], *ps[RW];
#pragma unroll
    for (int r = 0; r < RW; r++) {
        const size_t row = (size_t)e * a.N + min(n0 + tile_a_row(r), a.N - 1);
        pb[r] = lq_blocks + row * (size_t)kgp * 16 + q * 16;
        ps[r] = lq_scales + row * (size_t)kgp;
    }
    uint4 raw[NG][RW];
    uint32_t scw[NG][RW];
    auto load = [&](int u, int gi) {
#pragma unroll
        for (int r = 0; r < RW; r++) {
            raw[u][r] = *(const uint4 *)(pb[r] + (size_t)gi * 64);
            scw[u][r] = *(const uint32_t *)(ps[r] + (size_t)gi * 4);
        }
    };
    TileC acc;
    tile_zero(&acc);
    int gs = 0; // the group step() is at (groups come in order)
    auto step = [&](int u) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int st = gs * 4 + j;
            if (st < nsteps) {
                TileB xb;
                xb.v = as_rows[4 * st + q];
                TileA wa;
#pragma unroll
                for (int r = 0; r < RW; r++) {
                    const uint4 v = raw[u][r];
                    const uint32_t w = j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
                    wa.v[r] = mx_dequant8_s(w, stab, (scw[u][r] >> (8 * j)) & 0xffu);
                }
                tile_mma(&acc, &wa, &xb);
            }
        }
        gs++;
    };
    tile_ring<NG>(ngroups, load, step);
#pragma unroll
    for (int i = 0; i < 4; i++) { // rows are weight rows, columns tokens (moe_gemv's WT)
        const float partner = tile_c_row_partner(&acc, i);
        const int pos = p0 + tile_c_col(i), n = n0 + tile_c_row(i);
        if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc.c[i], partner);
    }
}

/* The LQ copy of one MoE tensor's codes and scales (kgp k-steps a row). */
static void lq_layout(const std::vector<uint8_t> &b, const std::vector<uint8_t> &sc, size_t kg, size_t kgp,
                      std::vector<uint8_t> &lb, std::vector<uint8_t> &ls) {
    const size_t rows = sc.size() / kg;
    lb.assign(rows * kgp * 16, 0);
    ls.assign(rows * kgp, 127);
    for (size_t r = 0; r < rows; r++)
        for (size_t s = 0; s < kg; s++) {
            const size_t gi = s / 4, j = s % 4;
            for (int q = 0; q < 4; q++)
                memcpy(&lb[r * kgp * 16 + gi * 64 + q * 16 + j * 4], &b[(r * kg + s) * 16 + q * 4], 4);
            ls[r * kgp + s] = sc[r * kg + s];
        }
}
static const uint8_t *lq_b[2], *lq_s[2]; // mlp1, mlp2 (main)
static int lq_kgp[2];

template <int EPI, int NG>
static void gemv_lq(const MoeArgs &a) {
    const int cols = (MOE_GEMV_THREADS / GETP_WAVE) * TILE_M, w = EPI == MOE_MLP1 ? 0 : 1;
    dim3 grid(moe_grid_slots(a.M * a.k, MOE_GEMV_BM, a.E), (a.N + cols - 1) / cols);
    moe_gemv_lq<EPI, NG><<<grid, MOE_GEMV_THREADS, (size_t)a.K * 2>>>(a, lq_b[w], lq_s[w], lq_kgp[w]);
}

/* moe_gemv with NT tiles a warp and U k-steps in flight (v1: NT = 2, U = 8);
 * HALF: one A row a lane (M <= 8); AS > 0: the slot's first AS rows in shared memory. */
template <int EPI, int NT, int U, bool HALF = false, int AS = 0, int MINB = 3, bool SP = false, bool RG = false,
          bool WT = false, int KP = 1>
static void gemv(const MoeArgs &a) {
    const int cols = (MOE_GEMV_THREADS / GETP_WAVE / KP) * NT * (WT ? TILE_M : TILE_N);
    dim3 grid(moe_grid_slots(a.M * a.k, MOE_GEMV_BM, a.E), (a.N + cols - 1) / cols); // the launcher's
    const size_t smem = (size_t)std::min(a.M, AS) * a.K * 2;
    auto fn = moe_gemv<EPI, true, NT, U, HALF, AS, MINB, SP, RG, WT, KP>;
    // 8 staged rows of K = 2,880 (45 KB) plus the 4 KB scale table pass 48 KB
    GPU_CHECK(hipFuncSetAttribute((const void *)fn, hipFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    fn<<<grid, MOE_GEMV_THREADS, smem>>>(a);
}

template <int EPI> static void run_ver(int v, const MoeArgs &a) {
    const int P = a.M * a.k;
    if (v == 0) { moe_gemm(a, EPI, 0); return; }
    switch (v) {
    case 11: mid<EPI, 2, 4, 4, 2>(a); break;
    case 14: mid<EPI, 2, 2, 4, 3>(a); break;
    case 15: mid<EPI, 3, 4, 4, 2>(a); break;
    case 17: mid<EPI, 2, 2, 4, 4>(a); break;
    case 12: gemv<EPI, 1, 8>(a); break;
    case 13: gemv<EPI, 1, 16>(a); break;
    case 20: gemv_split<EPI, 24, 8>(a); break;
    case 21: gemv_split<EPI, 12, 8>(a); break;
    case 22: gemv_split<EPI, 8, 8>(a); break;
    case 23: gemv_split<EPI, 6, 6>(a); break;
    case 27: gemv<EPI, 2, 16, true>(a); break;
    case 28: gemv<EPI, 1, 16, true>(a); break;
    case 29: gemv<EPI, 2, 12, true>(a); break;
    case 30: gemv<EPI, 2, 16, true, 8>(a); break;
    case 31: gemv<EPI, 2, 24, true, 8>(a); break;
    case 32: gemv<EPI, 1, 32, true, 8>(a); break;
    case 33: gemv<EPI, 2, 8, true, 0, 4>(a); break;
    case 34: gemv<EPI, 1, 8, true, 0, 4>(a); break;
    case 35: gemv<EPI, 1, 8, true, 0, 5>(a); break;
    case 36: gemv<EPI, 1, 4, true, 0, 8>(a); break;
    case 37: gemv<EPI, 2, 4, true, 0, 5>(a); break;
    case 38: gemv<EPI, 1, 6, true, 0, 6>(a); break;
    case 39: gemv<EPI, 2, 6, true, 0, 4>(a); break;
    case 40: gemv<EPI, 2, 6, true, 0, 4, true>(a); break;
    case 41: gemv<EPI, 2, 4, true, 0, 5, true>(a); break;
    case 42: gemv<EPI, 2, 6, true, 0, 4, false, true>(a); break; // weights in row groups (main)
    case 43: gemv<EPI, 2, 8, true, 0, 3, false, true>(a); break;
    case 44: gemv<EPI, 1, 6, true, 0, 4, true, false, true>(a); break; // weights as A (WT)
    case 45: gemv<EPI, 1, 6, true, 0, 4, false, false, true>(a); break;
    case 46: gemv<EPI, 1, 6, true, 0, 5, true, false, true>(a); break; // v44 at 5 blocks an SM
    case 47: gemv<EPI, 1, 8, true, 0, 4, true, false, true>(a); break; // v44, 8 k-steps in flight
    case 48: gemv<EPI, 1, 6, true, 0, 4, true, false, true, 4>(a); break; // v44 in 4 parts of K
    case 49: gemv<EPI, 1, 6, true, 0, 4, true, false, true, 2>(a); break; // v44 in 2 parts of K
    case 50: gemv<EPI, 1, 6, true, 8, 4, true, false, true>(a); break;  // v44, token rows in shared memory
    case 51: gemv<EPI, 1, 12, true, 8, 4, true, false, true>(a); break; // v50, 12 k-steps in flight
    case 52: gemv<EPI, 1, 24, true, 8, 3, true, false, true>(a); break; // v50, 24 in flight, 3 blocks
    case 53: gemv<EPI, 1, 12, true, 0, 4, true, false, true>(a); break; // v44, 12 in flight (v51 without As)
    case 54: gemv_lq<EPI, 2>(a); break; // v50 on the LQ copy, 8 k-steps in flight (M = 1)
    case 55: gemv_lq<EPI, 3>(a); break; // 12 k-steps in flight
#if defined(GETP_WGMMA)
    /* 64-row slots, 64 x 256: v24 1 k-step a stage, 4 raw stages (64 KB); v25 2
     * k-steps x 3 (112 KB; production's shape); v26 1 x 6 (80 KB); v56 v24 slot-fastest
     * for mlp2 too (production: mlp1 slot-fastest, mlp2 column-fastest) */
    case 24: wgmma_launch<EPI, 64, 256, EPI == MOE_MLP2, 1, 4>(a, 0); break;
    case 25: wgmma_launch<EPI, 64, 256, EPI == MOE_MLP2, 2, 3>(a, 0); break;
    case 26: wgmma_launch<EPI, 64, 256, EPI == MOE_MLP2, 1, 6>(a, 0); break;
    case 56: wgmma_launch<EPI, 64, 256, false, 1, 4>(a, 0); break;
#endif
    default: if (v >= 11) return; // retired knobs (run 18): L2 size hint, FOLD
    }
    if (v >= 11) { GPU_CHECK_LAUNCH(); return; }
    if (v == 1) {
        int cols = (MOE_GEMV_THREADS / GETP_WAVE) * 2 * TILE_N;
        dim3 grid((P + MOE_GEMV_BM - 1) / MOE_GEMV_BM + a.E, (a.N + cols - 1) / cols);
        moe_gemv<EPI, true, 2, 8><<<grid, MOE_GEMV_THREADS>>>(a);
    } else if (v == 2) {
        dim3 grid((P + 63) / 64 + a.E, (a.N + 127) / 128);
        moe_tiled<EPI, true, 1, 4><<<grid, 256>>>(a);
    } else if (v == 3) {
        dim3 grid((P + 127) / 128 + a.E, (a.N + 127) / 128);
        moe_tiled<EPI, true, 2, 4><<<grid, 256>>>(a);
    } else if (v == 4 || v == 5) {
        dim3 grid((P + 127) / 128 + a.E, (a.N + 127) / 128);
        staged_launch<EPI, 2>(a, 0); // v4 retired with the per-policy MOE_KS: v4 == v5
    } else if (v == 6) {
        dim3 grid((P + 63) / 64 + a.E, (a.N + 127) / 128);
        staged_launch<EPI, 1>(a, 0);
    } else {
#if defined(GETP_WGMMA)
        if (v == 7) wgmma_launch<EPI, 128, 128, false>(a, 0);
        else if (v == 8) wgmma_launch<EPI, 128, 128, true>(a, 0);
        else if (v == 9) wgmma_launch<EPI, 128, 256, false>(a, 0);
        else wgmma_launch<EPI, 128, 256, true>(a, 0);
#endif
    }
    GPU_CHECK_LAUNCH();
}

static double mxv(uint8_t code, uint8_t s) {
    static const double lut[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    double v = lut[code & 7] * ldexp(1.0, (int)s - 127);
    return (code & 8) ? -v : v;
}
static double mxw(const std::vector<uint8_t> &b, const std::vector<uint8_t> &s, size_t row, int C, int c) {
    size_t i = row * C + c; uint8_t byte = b[i / 2];
    return mxv((i & 1) ? byte >> 4 : byte & 15, s[i / 32]);
}

/* Random bytes 8 at a time (BENCH_E=128: 1.7 GB of weights). */
static void fill_bytes(std::vector<uint8_t> &v) {
    uint64_t x = bu_rng;
    size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        memcpy(&v[i], &x, 8);
    }
    for (; i < v.size(); i++) v[i] = (uint8_t)bu_u32();
    bu_rng = x;
}
/* E8M0 scales 118..123 (fast: 6 values from one 64-bit draw's bytes). */
static void fill_scales(std::vector<uint8_t> &v) {
    fill_bytes(v);
    for (auto &b : v) b = (uint8_t)(118 + (b * 6u >> 8));
}

int main(void) {
    const int E = getenv("BENCH_E") ? atoi(getenv("BENCH_E")) : 32, k = 4, H = 2880, I = 2880, Mmax = 4096;
    std::vector<uint8_t> b1((size_t)E * 2 * I * H / 2), s1((size_t)E * 2 * I * H / 32);
    std::vector<uint8_t> b2((size_t)E * H * I / 2), s2((size_t)E * H * I / 32);
    fill_bytes(b1); fill_bytes(b2); fill_scales(s1); fill_scales(s2);
    std::vector<float> bias1((size_t)E * 2 * I), bias2((size_t)E * H);
    for (auto &v : bias1) v = bu_uniform();
    for (auto &v : bias2) v = bu_uniform();
    std::vector<uint16_t> t((size_t)Mmax * H); bu_fill_bf16(t, 1.0f);
    std::vector<int32_t> ids((size_t)Mmax * k);
    for (int m = 0; m < Mmax; m++)
        for (int j = 0; j < k; j++) {
            int e, dup;
            do { e = (int)(bu_u32() % E); dup = 0; for (int q = 0; q < j; q++) dup |= ids[m * k + q] == e; } while (dup);
            ids[m * k + j] = e;
        }
    uint8_t *db1 = bu_dev(b1), *ds1 = bu_dev(s1), *db2 = bu_dev(b2), *ds2 = bu_dev(s2);
    /* v42 / v43: the same weights in row groups (moe_rg_block / moe_rg_scale) */
    auto regroup = [](const std::vector<uint8_t> &b, const std::vector<uint8_t> &sc, size_t kg,
                      std::vector<uint8_t> &gb, std::vector<uint8_t> &gs) {
        const size_t rows = sc.size() / kg;
        gb.resize(b.size()); gs.resize(sc.size());
        for (size_t r = 0; r < rows; r++)
            for (size_t k = 0; k < kg; k++) {
                memcpy(&gb[moe_rg_block(r, k, kg)], &b[(r * kg + k) * 16], 16);
                gs[moe_rg_scale(r, k, kg)] = sc[r * kg + k];
            }
    };
    std::vector<uint8_t> gb1, gs1, gb2, gs2;
    regroup(b1, s1, H / 32, gb1, gs1); regroup(b2, s2, I / 32, gb2, gs2);
    uint8_t *dgb1 = bu_dev(gb1), *dgs1 = bu_dev(gs1), *dgb2 = bu_dev(gb2), *dgs2 = bu_dev(gs2);
    /* v54 / v55: the same weights in lane groups (lq_layout), rows padded to whole groups */
    {
        std::vector<uint8_t> lb, ls;
        const size_t kg[2] = {(size_t)H / 32, (size_t)I / 32};
        const std::vector<uint8_t> *bs[2][2] = {{&b1, &s1}, {&b2, &s2}};
        for (int w = 0; w < 2; w++) {
            lq_kgp[w] = (int)((kg[w] + 3) / 4 * 4);
            lq_layout(*bs[w][0], *bs[w][1], kg[w], (size_t)lq_kgp[w], lb, ls);
            lq_b[w] = bu_dev(lb), lq_s[w] = bu_dev(ls);
        }
    }
    float *dbias1 = bu_dev(bias1), *dbias2 = bu_dev(bias2), *dyp;
    uint16_t *dt = bu_dev(t), *dh; int32_t *dids = bu_dev(ids), *doff, *dsorted, *dscr;
    GPU_CHECK(hipMalloc((void **)&doff, (E + 1) * 4)); GPU_CHECK(hipMalloc((void **)&dsorted, Mmax * k * 4));
    GPU_CHECK(hipMalloc((void **)&dscr, E * 4));
    int32_t *drot_ids, *drot_off[NROT], *drot_sorted[NROT];
    GPU_CHECK(hipMalloc((void **)&drot_ids, Mmax * k * 4));
    for (int r = 0; r < NROT; r++) {
        GPU_CHECK(hipMalloc((void **)&drot_off[r], (E + 1) * 4));
        GPU_CHECK(hipMalloc((void **)&drot_sorted[r], Mmax * k * 4));
    }
    GPU_CHECK(hipMalloc((void **)&dh, (size_t)Mmax * k * I * 2)); GPU_CHECK(hipMalloc((void **)&dyp, (size_t)Mmax * k * H * 4));
    const char *vn[NVER] = {"auto", "v1 gemv<2,8>", "v2 tiled64", "v3 tiled128", "v4 async128k1",
                        "v5 async128k2", "v6 async64k2", "v7 wgmma128", "v8 wgmma128nf", "v9 wgmma256",
                        "v10 wgmma256nf", "v11 mid", "v12 gemv<1,8>", "v13 gemv<1,16>",
                        "v14 mid nt2 3b", "v15 mid ks3", "v16 mid fold", "v17 mid nt2 4b",
                        "v18 v17+L2", "v19 v14+L2+fold", "v20 split24", "v21 split12",
                        "v22 split8", "v23 split6", "v24 wg64x256", "v25 wg64 k2s3", "v26 wg64 k1s6",
                        "v27 gemv2 U16h", "v28 gemv1 U16h", "v29 gemv2 U12h",
                        "v30 gemv2 U16 As", "v31 gemv2 U24 As", "v32 gemv1 U32 As",
                        "v33 g2 U8 b4", "v34 g1 U8 b4", "v35 g1 U8 b5", "v36 g1 U4 b8",
                        "v37 g2 U4 b5", "v38 g1 U6 b6", "v39 g2 U6 b4", "v40 v39 pairs",
                        "v41 v37 pairs", "v42 v39 rowgrp", "v43 2/8/3 rowgrp", "v44 v40 W as A",
                        "v45 v39 W as A", "v46 v44 b5", "v47 v44 U8", "v48 v44 4 parts",
                        "v49 v44 2 parts", "v50 v44 As", "v51 v50 U12", "v52 v50 U24 b3",
                        "v53 v44 U12", "v54 v50 LQ G2", "v55 v50 LQ G3", "v56 wg64 sf",
                        "v57", "v58", "v59", "v60", "v61", "v62", "v63", "v64", "v65", "v66", "v67",
                        "v68", "v69", "v70", "v71", "v72", "v73", "v74"};
    const std::vector<int> Ms = bu_env_list("BENCH_M", {1, 8, 64, 256, 1024, 2048, 4096}),
                           Vs = bu_env_list("BENCH_V", {});  // e.g. BENCH_M=342 BENCH_V=11 for ncu
    for (int M : Ms) if (M < 1 || M > Mmax) { printf("BENCH_M: 1..%d\n", Mmax); return 1; }
    const double bytes_e1 = 2.0 * I * H * 17 / 32, bytes_e2 = (double)H * I * 17 / 32;
    printf("E=%d\n%-5s %5s %-14s %9s %8s %8s %9s\n", E, "op", "M", "version", "ms", "TFLOP/s", "GB/s", "NMSE");
    for (int M : Ms) {
        const int P = M * k;
        int used = 0; { std::vector<int> u(E, 0); for (int p = 0; p < P; p++) u[ids[p]] = 1; for (int e : u) used += e; }
        float ms_sort = bu_time([&](int) { moe_sort(dids, M, k, E, doff, dsorted, dscr, 0); }, 3, 20);
        printf("%-5s %5d %-14s %9.4f\n", "sort", M, "", ms_sort);
        std::vector<int32_t> off = bu_host(doff, E + 1), sorted = bu_host(dsorted, P);
        /* Timing rep i routes to the experts of rotation i % NROT (ids + 4i mod E;
         * rotation 0 is the validated one), so at few tokens the reps do not find
         * the last rep's experts in L2 (4 experts' 53 MB is about the H200's L2):
         * the engine's layers never do. BENCH_ROTATE=0: every rep on rotation 0. */
        const int nrot = getenv("BENCH_ROTATE") && !atoi(getenv("BENCH_ROTATE")) ? 1 : NROT;
        for (int r = 1; r < nrot; r++) {
            std::vector<int32_t> idr(ids.begin(), ids.begin() + P);
            for (auto &e : idr) e = (e + 4 * r) % E;
            GPU_CHECK(hipMemcpy(drot_ids, idr.data(), P * 4, hipMemcpyHostToDevice));
            moe_sort(drot_ids, M, k, E, drot_off[r], drot_sorted[r], dscr, 0);
        }
        GPU_CHECK(hipMemcpy(drot_off[0], doff, (E + 1) * 4, hipMemcpyDeviceToDevice));
        GPU_CHECK(hipMemcpy(drot_sorted[0], dsorted, P * 4, hipMemcpyDeviceToDevice));
        GPU_CHECK(hipDeviceSynchronize());
        auto rot = [&](MoeArgs a, int i) {
            a.offsets = drot_off[i % nrot];
            a.pairs = drot_sorted[i % nrot];
            return a;
        };
        std::vector<uint16_t> h11, h0; std::vector<float> yp11, yp0;  // v11's and auto's outputs
        for (int v = 0; v < NVER; v++) {
            const bool w64 = (v >= 24 && v <= 26) || v == 56; // 64-row wgmma slots
            if (v == 1 && P > E * 64) continue;  // gemv re-reads weights per 16 pairs
            if (v >= 4 && v <= 10 && P < E * 16) continue;  // tiles for many pairs per expert
            if ((v == 12 || v == 13 || (v >= 20 && !w64)) && P > E * 64) continue;  // as v1
#if !defined(GETP_WGMMA)
            if (w64 || (v >= 7 && v <= 10)) continue;
#endif
            if (w64 && P < E * 8) continue;   // tiles for a few dozen pairs per expert and more
            if (v >= 27 && v != 56 && !w64 && M > 8) continue;   // one A row a lane
            if ((v == 54 || v == 55) && M > 1) continue; // one staged row a slot
            if (v >= 11 && v != 12 && v != 13 && v < 20 && (P < E * 4 || P > E * MOE_MID_BM)) continue;  // moe_mid_mx's range
            if (!Vs.empty() && std::find(Vs.begin(), Vs.end(), v) == Vs.end()) continue;
            if (v == 16 || v == 18 || v == 19 || (v >= 57 && v <= 74)) continue;  // retired (runs 18, 90, 91, 93)
            const bool rg = v == 42 || v == 43; // the row-grouped copy
            MoeArgs a1 = {dt, {1, rg ? dgb1 : db1, rg ? dgs1 : ds1, NULL}, dbias1, doff, dsorted, dh, NULL, M, k, E, 2 * I, H, 7.0f, NULL, 0};
            MoeArgs a2 = {dh, {1, rg ? dgb2 : db2, rg ? dgs2 : ds2, NULL}, dbias2, doff, dsorted, NULL, dyp, M, k, E, H, I, 0.0f, NULL, 0};
            GPU_CHECK(hipMemset(dh, 0xff, (size_t)P * I * 2)); GPU_CHECK(hipMemset(dyp, 0xff, (size_t)P * H * 4));
            run_ver<MOE_MLP1>(v, a1); run_ver<MOE_MLP2>(v, a2);
            std::vector<uint16_t> h = bu_host(dh, (size_t)P * I);
            std::vector<float> yp = bu_host(dyp, (size_t)P * H);
            BuErr e1, e2;
            for (int smp = 0; smp < 256; smp++) {
                int s = (int)(bu_u32() % P), pair = sorted[s], tok = pair / k, ex = ids[pair];
                int j = (int)(bu_u32() % I), n = (int)(bu_u32() % H);
                double u[2];
                for (int r = 0; r < 2; r++) {
                    size_t row = (size_t)ex * 2 * I + 2 * j + r; double acc = bias1[row];
                    for (int c = 0; c < H; c++) acc += bu_f(t[(size_t)tok * H + c]) * mxw(b1, s1, row, H, c);
                    u[r] = acc;
                }
                double g = std::min(u[0], 7.0), l = std::min(std::max(u[1], -7.0), 7.0);
                e1.add(bu_f(h[(size_t)s * I + j]), g / (1 + exp(-1.702 * g)) * (l + 1));
                size_t row = (size_t)ex * H + n; double acc = bias2[row];
                for (int c = 0; c < I; c++) acc += bu_f(h[(size_t)s * I + c]) * mxw(b2, s2, row, I, c);
                e2.add(yp[(size_t)pair * H + n], acc);
            }
            if (!e1.ok(2e-5) || !e2.ok(1e-8)) printf("VALIDATION FAILED M=%d %s %g %g\n", M, vn[v], e1.nmse(), e2.nmse());
            if (v == 0) { h0 = h; yp0 = yp; }
            else if ((v == 1 || v == 12 || v == 13 || (v >= 7 && v <= 10) || w64 || (v >= 27 && v < 48) || v >= 50) &&
                     !h0.empty() && // v48, v49: parts of K
                     (memcmp(h.data(), h0.data(), h.size() * 2) || memcmp(yp.data(), yp0.data(), yp.size() * 4)))
                printf("BITS DIFFER M=%d %s vs auto\n", M, vn[v]);
            if (v == 11) { h11 = h; yp11 = yp; }
            else if (v > 11 && v < 20 && !h11.empty() &&
                     (memcmp(h.data(), h11.data(), h.size() * 2) || memcmp(yp.data(), yp11.data(), yp.size() * 4)))
                printf("BITS DIFFER M=%d %s vs v11 mid\n", M, vn[v]);
            float ms1 = bu_time([&](int i) { run_ver<MOE_MLP1>(v, rot(a1, i)); }, 5, 20);
            float ms2 = bu_time([&](int i) { run_ver<MOE_MLP2>(v, rot(a2, i)); }, 5, 20);
            printf("%-5s %5d %-14s %9.4f %8.1f %8.0f %9.2e\n", "mlp1", M, vn[v], ms1, 2.0 * P * 2 * I * H / ms1 / 1e9,
                   used * bytes_e1 / ms1 / 1e6, e1.nmse());
            printf("%-5s %5d %-14s %9.4f %8.1f %8.0f %9.2e\n", "mlp2", M, vn[v], ms2, 2.0 * P * H * I / ms2 / 1e9,
                   used * bytes_e2 / ms2 / 1e6, e2.nmse());
        }
    }
    return 0;
}
