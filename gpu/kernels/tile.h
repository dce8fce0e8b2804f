/* tile.h: one warp-level (wave-level) bf16 matrix tile, fp32 accumulation.
 *
 * A "tile step" is C(TILE_M x TILE_N) += A(TILE_M x 32) * B(TILE_N x 32)^T with
 * both operands K-contiguous (A: activations (M, K) row-major; B: weights
 * (N, K) row-major, as in the checkpoint). The caller fetches the operands
 * itself (from shared or global memory, gathered or dequantized) and hands
 * each lane its piece: for every A row r < TILE_A_ROWS the lane owns row
 * tile_a_row(r) and the 8 consecutive k at tile_k_off() .. +7 of the 32-step
 * (one 16-byte load); for B the lane owns row tile_b_row() at the same k.
 *
 * The 8 k of a lane go into two instructions (k 0..3 of each lane's 8, then
 * 4..7), the same permutation for A and B, so the dot product is exact
 * math; the fixed order (step after step, instruction 1 then 2) is the one
 * reduction order every kernel uses, which keeps results batch-invariant
 * (a row's result depends only on that row, never on M or the tiling).
 *
 * The implementations live in the port (gpu/port/), chosen once per target:
 *   NVIDIA sm_80+: mma.sync m16n8k16 bf16 (port_cuda.h);
 *   AMD gfx90a / gfx942: v_mfma_f32_16x16x16bf16_1k (port_hip.h);
 *   otherwise, or with GETP_TILE_FALLBACK=1: scalar FMA over the same
 *     fragments (NVIDIA's layout, one 16x8 tile per 32 lanes), operands by
 *     shuffles (port_tile_fallback.h).
 * TILE_N and TILE_A_ROWS are fixed per target (host code must not use them):
 * 8 and 2 under mma.sync, 16 and 1 under MFMA.
 */
#ifndef GETP_TILE_H
#define GETP_TILE_H

#include "port.h" // TileA/B/C, TILE_*, the lane maps, tile_mma, port_cp_*

__device__ __forceinline__ void tile_zero(TileC *acc) {
    acc->c[0] = acc->c[1] = acc->c[2] = acc->c[3] = 0.0f;
}

/* The k-step loop of the streaming kernels (the GEMVs): a ring of U slots
 * kept in flight. load(u, s) fills slot u with k-step s; step(u) consumes
 * slot u; k-step s uses slot s % U and the slot is refilled with step s + U
 * right after, so U loads are outstanding while the dependent MMA chain runs
 * (steps in increasing order: the reduction order of tile.h). The last two
 * rounds carry the bounds checks, the others none. tile_ring_loaded: the
 * ring once the caller has loaded slots 0 .. U - 1 itself (tile_ring below
 * does that first). */
template <int U, class Load, class Step>
__device__ __forceinline__ void tile_ring_loaded(int nsteps, Load &&load, Step &&step) {
    int s0 = 0;
    for (; s0 + 2 * U <= nsteps; s0 += U)
#pragma unroll
        for (int u = 0; u < U; u++) {
            step(u);
            load(u, s0 + u + U);
        }
    for (; s0 < nsteps; s0 += U)
#pragma unroll
        for (int u = 0; u < U; u++)
            if (s0 + u < nsteps) {
                step(u);
                if (s0 + u + U < nsteps) load(u, s0 + u + U);
            }
}
template <int U, class Load, class Step>
__device__ __forceinline__ void tile_ring(int nsteps, Load &&load, Step &&step) {
#pragma unroll
    for (int u = 0; u < U; u++)
        if (u < nsteps) load(u, u);
    tile_ring_loaded<U>(nsteps, load, step);
}

#endif
