/* moe_tiles.hip: the portable MoE kernel families (every vendor; the AMD
 * dispatch uses only these): moe_gemv for few pairs per expert (each expert's
 * weights streamed once, 16 pairs a pass) and moe_tiled for many (BM x 128
 * tiles through shared memory, operands double-buffered through registers,
 * MXFP4 decoded by the loader). Launched from moe.hip's dispatcher.
 */
#include "moe_common.h"
#include "moe_families.h" // the launchers below
#include "gpu_check.h"

/* ---- few pairs per expert: GEMV over 16 pairs, weights streamed ---- */

static_assert(MOE_GEMV_BM == TILE_M, "one 16-row tile per moe_gemv pass");

template <int EPI, bool MX, int NT, int U>
__global__ void __launch_bounds__(MOE_GEMV_THREADS)
moe_gemv(MoeArgs a) {
    int e, p0, p1;
    if (!moe_slot(a, blockIdx.x, MOE_GEMV_BM, &e, &p0, &p1)) return;
    const int warp = threadIdx.x / GETP_WAVE;
    const int n0 = (blockIdx.y * (MOE_GEMV_THREADS / GETP_WAVE) + warp) * NT * TILE_N;
    if (n0 >= a.N) return;
    const int nsteps = a.K / TILE_K, koff = tile_k_off();
    const uint16_t *arow[TILE_A_ROWS];
#pragma unroll
    for (int r = 0; r < TILE_A_ROWS; r++)
        arow[r] = moe_act_row<EPI>(a, min(p0 + tile_a_row(r), p1 - 1)) + koff;
    size_t brow[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        brow[t] = (size_t)e * a.N + min(n0 + t * TILE_N + tile_b_row(), a.N - 1);

    TileC acc[NT];
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
    for (int s0 = 0; s0 < nsteps; s0 += U) {
        TileB b[U][NT];
        TileA x[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s0 + u < nsteps) {
#pragma unroll
                for (int t = 0; t < NT; t++) b[u][t].v = moe_load_b<MX>(a, brow[t], s0 + u, koff);
#pragma unroll
                for (int r = 0; r < TILE_A_ROWS; r++)
                    x[u].v[r] = *(const uint4 *)(arow[r] + (size_t)(s0 + u) * TILE_K);
            }
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s0 + u < nsteps) {
#pragma unroll
                for (int t = 0; t < NT; t++) tile_mma(&acc[t], &x[u], &b[u][t]);
            }
    }
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float partner = tile_c_partner(&acc[t], i);
            int pos = p0 + tile_c_row(i), n = n0 + t * TILE_N + tile_c_col(i);
            if (pos < p1 && n < a.N) moe_store<EPI>(a, e, pos, n, acc[t].c[i], partner);
        }
}

/* ---- many pairs per expert: BM x 128 tiles through shared memory ---- */


template <int EPI, bool MX, int WARPS_M, int MT>
__global__ void __launch_bounds__(256, 2)
moe_tiled(MoeArgs a) {
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

/* ---- launchers ---- */

template <int EPI, bool MX>
static void gemv_launch(const MoeArgs &a, hipStream_t stream) {
    constexpr int NT = 2, U = 4;
    const int P = a.M * a.k, cols = (MOE_GEMV_THREADS / GETP_WAVE) * NT * TILE_N;
    dim3 grid((P + MOE_GEMV_BM - 1) / MOE_GEMV_BM + a.E, (a.N + cols - 1) / cols);
    moe_gemv<EPI, MX, NT, U><<<grid, MOE_GEMV_THREADS, 0, stream>>>(a);
}

template <int EPI, bool MX, int WARPS_M>
static void tiled_launch(const MoeArgs &a, hipStream_t stream) {
    typedef MoeTiled<WARPS_M, 4> C;
    const int P = a.M * a.k;
    dim3 grid((P + C::BM - 1) / C::BM + a.E, (a.N + C::BN - 1) / C::BN);
    moe_tiled<EPI, MX, WARPS_M, 4><<<grid, C::THREADS, 0, stream>>>(a);
}

void moe_launch_gemv(const MoeArgs &a, int epi, hipStream_t stream) {
    const bool mx = a.w.is_mxfp4;
    if (epi == MOE_MLP1) mx ? gemv_launch<MOE_MLP1, true>(a, stream) : gemv_launch<MOE_MLP1, false>(a, stream);
    else mx ? gemv_launch<MOE_MLP2, true>(a, stream) : gemv_launch<MOE_MLP2, false>(a, stream);
}

void moe_launch_tiled(const MoeArgs &a, int epi, int warps_m, hipStream_t stream) {
    const bool mx = a.w.is_mxfp4;
    if (warps_m == 1) {
        if (epi == MOE_MLP1) mx ? tiled_launch<MOE_MLP1, true, 1>(a, stream) : tiled_launch<MOE_MLP1, false, 1>(a, stream);
        else mx ? tiled_launch<MOE_MLP2, true, 1>(a, stream) : tiled_launch<MOE_MLP2, false, 1>(a, stream);
    } else {
        if (epi == MOE_MLP1) mx ? tiled_launch<MOE_MLP1, true, 2>(a, stream) : tiled_launch<MOE_MLP1, false, 2>(a, stream);
        else mx ? tiled_launch<MOE_MLP2, true, 2>(a, stream) : tiled_launch<MOE_MLP2, false, 2>(a, stream);
    }
}
