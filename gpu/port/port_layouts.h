/* port_layouts.h: every lane -> (row, column, k) map of the matrix tile, as
 * plain functions of the lane number, so that the same code runs on the GPU
 * (the tile of port_hip.h / port_tile_nvlayout.h calls them with its lane)
 * and on the host, where tests/gpu/test_wave64.c runs them for all 64 (or 32)
 * lanes of a wave against a model of each instruction written from the
 * vendor's documented layout and a plain matrix product. A layout mistake then
 * fails in CI, not on a user's MI250.
 *
 * The tile contract (tile.h): C (16 x TILE_N) += A (16 x 32) * B (TILE_N x 32)^T,
 * A and B k-contiguous; lane l owns A rows a_row(l, r) (r < TILE_A_ROWS) and B
 * row b_row(l), each at k = k_off(l) .. k_off(l) + 7, and C elements
 * (c_row(l, i), c_col(l, i)), i < 4.
 *
 *   mfma16    AMD v_mfma_f32_16x16x16bf16_1k, 64 lanes, TILE_N 16, TILE_A_ROWS 1:
 *             the lane's 8 k are two instructions of 4 (k_off..+3, then +4..+7);
 *   nv16x8    NVIDIA mma.sync m16n8k16 (and the shuffle fallback on any wave):
 *             per 32 lanes one 16x8 tile; a 64-lane wave holds two side by
 *             side, TILE_N 8 * wave / 32, TILE_A_ROWS 2.
 */
#ifndef GETP_PORT_LAYOUTS_H
#define GETP_PORT_LAYOUTS_H

#if defined(__CUDACC__) || defined(__HIPCC__)
#define PORT_LAYOUT_FN __host__ __device__ static inline
#else
#define PORT_LAYOUT_FN static inline
#endif

/* ---- mfma16: 16x16x16 bf16_1k (CDNA2/CDNA3) ---- */
PORT_LAYOUT_FN int mfma16_a_row(int lane) { return lane % 16; }
PORT_LAYOUT_FN int mfma16_b_row(int lane) { return lane % 16; }
PORT_LAYOUT_FN int mfma16_k_off(int lane) { return (lane / 16) * 8; }
PORT_LAYOUT_FN int mfma16_c_row(int lane, int i) { return (lane / 16) * 4 + i; }
PORT_LAYOUT_FN int mfma16_c_col(int lane, int i) { (void)i; return lane % 16; }

/* ---- nv16x8: m16n8k16, repeated per 32 lanes ---- */
PORT_LAYOUT_FN int nv16x8_a_row(int lane, int r) { return (lane % 32) / 4 + 8 * r; }
PORT_LAYOUT_FN int nv16x8_b_row(int lane) { return (lane / 32) * 8 + (lane % 32) / 4; }
PORT_LAYOUT_FN int nv16x8_k_off(int lane) { return (lane % 4) * 8; }
PORT_LAYOUT_FN int nv16x8_c_row(int lane, int i) { return (lane % 32) / 4 + 8 * (i / 2); }
PORT_LAYOUT_FN int nv16x8_c_col(int lane, int i) { return (lane / 32) * 8 + 2 * (lane % 4) + (i % 2); }

#endif
