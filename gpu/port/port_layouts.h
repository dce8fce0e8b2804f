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

/* ---- chaining two products through C (attention: S = Q K^T, then O += P V) ----
 * The C tile of the first product, changed element by element, becomes the A
 * operand of the second; TILE_K / TILE_N C tiles (columns j * TILE_N + col)
 * make one 32-step of it. Logical k of that step takes column chain_pos(k)
 * (any bijection of 0..31 is exact math, if B uses the same one); the port
 * picks the one its layout converts cheaply:
 *   nv16x8  registers: word w (k 2w, 2w + 1 of the lane's 8) of A row r is
 *           items 2r, 2r + 1 of C tile chain_tile(w) in lane chain_src(lane, w)
 *           (the lane itself on 32 lanes; lane ^ 32 for half the words on 64);
 *   mfma16  through LDS (C's lanes run along columns, A's along rows): each
 *           element stored at chain_w, the lane's 8 k read at chain_r.
 * Fold: rows r and r ^ 8 carry the hi and lo halves of one operand; the
 * partner element (row ^ 8, same column) is item i ^ 2 of the lane (nv16x8)
 * or the same item of lane ^ 32 (mfma16). Row reduction: the lanes holding
 * one C row are lane ^ (any xor of row_xor(s), s < ROW_XORS) (nv16x8 also
 * items i and i ^ 1 of a lane). */
#define MFMA16_CHAIN_LD 40 // u16 per LDS row: 16-byte aligned reads, rows 80 bytes apart
PORT_LAYOUT_FN int mfma16_chain_pos(int k) { return k; }
PORT_LAYOUT_FN int mfma16_chain_w(int lane, int j, int i) {
    return mfma16_c_row(lane, i) * MFMA16_CHAIN_LD + 16 * j + mfma16_c_col(lane, i);
}
PORT_LAYOUT_FN int mfma16_chain_r(int lane) { return mfma16_a_row(lane) * MFMA16_CHAIN_LD + mfma16_k_off(lane); }
PORT_LAYOUT_FN int mfma16_fold_lane(int lane) { return lane ^ 32; }
#define MFMA16_ROW_XORS 4
PORT_LAYOUT_FN int mfma16_row_xor(int s) { return 1 << s; }

PORT_LAYOUT_FN int nv16x8_chain_pos(int k) { return 8 * ((k % 8) / 2) + 2 * (k / 8) + k % 2; }
PORT_LAYOUT_FN int nv16x8_chain_tile(int w, int wave) { return w / (wave / 32); }
PORT_LAYOUT_FN int nv16x8_chain_src(int lane, int w, int wave) {
    return wave == 32 ? lane : lane % 32 + 32 * (w % 2);
}
PORT_LAYOUT_FN int nv16x8_fold_item(int i) { return i ^ 2; }
#define NV16X8_ROW_XORS(wave) ((wave) == 32 ? 2 : 3)
PORT_LAYOUT_FN int nv16x8_row_xor(int s) { return s < 2 ? 1 << s : 32; }

#endif
