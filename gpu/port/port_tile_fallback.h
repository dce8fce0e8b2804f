/* port_tile_fallback.h: tile_mma without a matrix unit, on any vendor:
 * scalar FMA in the m16n8k16 layout (port_tile_nvlayout.h), the operands
 * fetched from the lanes that hold them by shuffles. Same products, same
 * instruction order (k 0..3 of each lane's 8, then 4..7) as the hardware
 * tiles; used when GETP_TILE_FALLBACK=1 or no matrix unit is known. */
#ifndef GETP_PORT_TILE_FALLBACK_H
#define GETP_PORT_TILE_FALLBACK_H

#include "port_tile_nvlayout.h"

__device__ __forceinline__ float tile_bf_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float tile_bf_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }
__device__ __forceinline__ uint32_t tile_word(const uint4 &v, int w) {
    return w == 0 ? v.x : w == 1 ? v.y : w == 2 ? v.z : v.w;
}

__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    const int lane = tile_lane(), base = (lane / 32) * 32, g = (lane % 32) / 4, q = lane % 4;
    for (int half = 0; half < 2; half++) {      // instruction 1, then 2
        for (int src = 0; src < 4; src++) {     // k owned by lane q' = src
            for (int w = 2 * half; w < 2 * half + 2; w++) {
                uint32_t a0 = GETP_SHFL(tile_word(a->v[0], w), base + g * 4 + src);
                uint32_t a1 = GETP_SHFL(tile_word(a->v[1], w), base + g * 4 + src);
                uint32_t b0 = GETP_SHFL(tile_word(b->v, w), base + (2 * q) * 4 + src);
                uint32_t b1 = GETP_SHFL(tile_word(b->v, w), base + (2 * q + 1) * 4 + src);
                acc->c[0] = fmaf(tile_bf_lo(a0), tile_bf_lo(b0), acc->c[0]);
                acc->c[0] = fmaf(tile_bf_hi(a0), tile_bf_hi(b0), acc->c[0]);
                acc->c[1] = fmaf(tile_bf_lo(a0), tile_bf_lo(b1), acc->c[1]);
                acc->c[1] = fmaf(tile_bf_hi(a0), tile_bf_hi(b1), acc->c[1]);
                acc->c[2] = fmaf(tile_bf_lo(a1), tile_bf_lo(b0), acc->c[2]);
                acc->c[2] = fmaf(tile_bf_hi(a1), tile_bf_hi(b0), acc->c[2]);
                acc->c[3] = fmaf(tile_bf_lo(a1), tile_bf_lo(b1), acc->c[3]);
                acc->c[3] = fmaf(tile_bf_hi(a1), tile_bf_hi(b1), acc->c[3]);
            }
        }
    }
}

#endif
