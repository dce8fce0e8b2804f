/* port_tile_chain.h: two tile products chained through the C tile (tile.h's
 * contract), as attention needs them: S = A1 B1^T, then each C element
 * changed (softmax) and handed on as the A operand of O += P B2^T. The index
 * math is in port_layouts.h ("chaining two products"), checked on the host for
 * 32 and 64 lanes (tests/gpu/test_wave64.c); here are the device primitives:
 *
 *   TILE_CHAIN_NS          C tiles per 32-step of the second product (TILE_K / TILE_N)
 *   tile_chain_pos(k)      the column (j * TILE_N + col of those tiles) that logical k
 *                          of that step takes; B of the second product must use it too
 *   tile_c_to_a(a, v, lds) A element (row, k) = bf16(v of C element (row, tile_chain_pos(k)));
 *                          v[j][i]: item i of C tile j; lds: the wave's TileChainLds
 *                          (unused where registers do it); every lane of the wave calls
 *   tile_c_fold(acc, i)    the element at row ^ 8, same column (every lane calls)
 *   TILE_C_FOLD_ITEM(i)    the lane's item holding it, or -1 (another lane)
 *   TILE_C_ROW_ITEM(i)     the lane's lowest item in the same row as item i
 *   tile_c_row_max/sum(x)  x reduced over the lanes that hold the same C row (the
 *                          caller has combined its own items of that row); every lane calls
 */
#ifndef GETP_PORT_TILE_CHAIN_H
#define GETP_PORT_TILE_CHAIN_H

#include "port.h" // TileA/TileC, the lane maps, GETP_SHFL*, port_pack_bf16x2

#define TILE_CHAIN_NS (TILE_K / TILE_N)

#if defined(GETP_TILE_LAYOUT_MFMA16)
/* ---- MFMA 16x16x16: through the wave's own LDS rows ---- */
typedef struct {
    uint16_t e[16 * MFMA16_CHAIN_LD] __attribute__((aligned(16))); // read as uint4
} TileChainLds;

__device__ __forceinline__ int tile_chain_pos(int k) { return mfma16_chain_pos(k); }
#define TILE_C_FOLD_ITEM(i) (-1)
#define TILE_C_ROW_ITEM(i) (i)
__device__ __forceinline__ float tile_c_fold(const TileC *acc, int i) {
    return GETP_SHFL(acc->c[i], mfma16_fold_lane(tile_lane()));
}
/* LDS traffic of one wave only: order it against the wave's other LDS accesses. */
__device__ __forceinline__ void tile_wave_lds_sync(void) {
    __builtin_amdgcn_fence(__ATOMIC_RELEASE, "wavefront");
    __builtin_amdgcn_wave_barrier();
    __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "wavefront");
}
__device__ __forceinline__ void tile_c_to_a(TileA *a, const float v[TILE_CHAIN_NS][4], TileChainLds *lds) {
    const int lane = tile_lane();
    tile_wave_lds_sync(); // the previous call's reads are done
#pragma unroll
    for (int j = 0; j < TILE_CHAIN_NS; j++)
#pragma unroll
        for (int i = 0; i < 4; i++) lds->e[mfma16_chain_w(lane, j, i)] = (uint16_t)port_f32_to_bf16_bits(v[j][i]);
    tile_wave_lds_sync();
    a->v[0] = *(const uint4 *)&lds->e[mfma16_chain_r(lane)];
}
__device__ __forceinline__ float tile_c_row_max(float x) {
#pragma unroll
    for (int s = 0; s < MFMA16_ROW_XORS; s++) x = fmaxf(x, GETP_SHFL_XOR(x, mfma16_row_xor(s)));
    return x;
}
__device__ __forceinline__ float tile_c_row_sum(float x) {
#pragma unroll
    for (int s = 0; s < MFMA16_ROW_XORS; s++) x += GETP_SHFL_XOR(x, mfma16_row_xor(s));
    return x;
}

#elif defined(GETP_TILE_LAYOUT_NV16X8)
/* ---- m16n8k16 layout (mma.sync, and the shuffle fallback): registers ---- */
typedef struct {
    uint16_t e[1];
} TileChainLds;

__device__ __forceinline__ int tile_chain_pos(int k) { return nv16x8_chain_pos(k); }
#define TILE_C_FOLD_ITEM(i) ((i) ^ 2)
#define TILE_C_ROW_ITEM(i) ((i) & 2)
__device__ __forceinline__ float tile_c_fold(const TileC *acc, int i) { return acc->c[nv16x8_fold_item(i)]; }
__device__ __forceinline__ void tile_c_to_a(TileA *a, const float v[TILE_CHAIN_NS][4], TileChainLds *lds) {
    (void)lds;
    const int lane = tile_lane();
#pragma unroll
    for (int r = 0; r < 2; r++) {
        uint32_t own[TILE_CHAIN_NS], wd[4];
#pragma unroll
        for (int j = 0; j < TILE_CHAIN_NS; j++) own[j] = port_pack_bf16x2(v[j][2 * r], v[j][2 * r + 1]);
#pragma unroll
        for (int w = 0; w < 4; w++) {
            const uint32_t x = own[nv16x8_chain_tile(w, GETP_WAVE)];
            wd[w] = GETP_WAVE == 32 ? x : GETP_SHFL(x, nv16x8_chain_src(lane, w, GETP_WAVE));
        }
        a->v[r] = make_uint4(wd[0], wd[1], wd[2], wd[3]);
    }
}
__device__ __forceinline__ float tile_c_row_max(float x) {
#pragma unroll
    for (int s = 0; s < NV16X8_ROW_XORS(GETP_WAVE); s++) x = fmaxf(x, GETP_SHFL_XOR(x, nv16x8_row_xor(s)));
    return x;
}
__device__ __forceinline__ float tile_c_row_sum(float x) {
#pragma unroll
    for (int s = 0; s < NV16X8_ROW_XORS(GETP_WAVE); s++) x += GETP_SHFL_XOR(x, nv16x8_row_xor(s));
    return x;
}
#else
#error "port_tile_chain.h: no tile layout (port_hip.h / port_tile_nvlayout.h define one)"
#endif

#endif
