/* port_tile_nvlayout.h: the lane maps of the m16n8k16 fragment layout
 * (NVIDIA mma.sync, and the shuffle fallback on any vendor, which repeats it
 * per 32 lanes): g = lane / 4, q = lane % 4; A rows g and g + 8; B row g; k
 * offset q * 8; C element i at (g + 8 * (i / 2), 2q + i % 2). A 64-lane wave
 * holds two such 16x8 tiles side by side (TILE_N = 16). */
#ifndef GETP_PORT_TILE_NVLAYOUT_H
#define GETP_PORT_TILE_NVLAYOUT_H

#define GETP_TILE_LAYOUT_NV16X8 1 // port_tile_chain.h picks its conversions by layout
#define TILE_N (8 * (GETP_WAVE / 32))
#define TILE_A_ROWS 2
#include "port_tile_types.h"
#include "port_layouts.h" // nv16x8_*: the maps, checked on the host for 32 and 64 lanes

__device__ __forceinline__ int tile_a_row(int r) { return nv16x8_a_row(tile_lane(), r); }
__device__ __forceinline__ int tile_b_row(void) { return nv16x8_b_row(tile_lane()); }
__device__ __forceinline__ int tile_k_off(void) { return nv16x8_k_off(tile_lane()); }
__device__ __forceinline__ int tile_c_row(int i) { return nv16x8_c_row(tile_lane(), i); }
__device__ __forceinline__ int tile_c_col(int i) { return nv16x8_c_col(tile_lane(), i); }
/* Value of the element in the same row, column col ^ 1 (a lane holds both). */
__device__ __forceinline__ float tile_c_partner(const TileC *acc, int i) { return acc->c[i ^ 1]; }
/* Value of the element in the same column, row row ^ 1: lane ^ 4's item i
 * (all lanes must call). */
__device__ __forceinline__ float tile_c_row_partner(const TileC *acc, int i) {
    return GETP_SHFL_XOR(acc->c[i], 4);
}

#endif
