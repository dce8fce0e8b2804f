/* relay.h: the GEMV relay, for a handful of rows (decode at batch 1..4).
 *
 * A GEMV is bandwidth bound, and what limits it at small batches is how many
 * bytes are in flight: a warp that streams a whole K row (90 to 128 k-steps)
 * a few k-steps at a time waits one memory round trip per few steps, and with
 * one warp per 8 or 16 output columns there are too few warps to hide it
 * (bench/RESULTS.md run 25: the dense GEMV at 0.85 TB/s, the MoE GEMV at
 * ~0.9). Splitting K over warps would fix that, but then a row's sum is added
 * in another order than the tiled kernels add it, and results would depend on
 * the batch size.
 *
 * The relay keeps the one order. A block of RELAY_W warps owns one column
 * tile; warp w holds k-steps [relay_lo(w), relay_lo(w + 1)) of the chain and
 * loads all of its operands at once, so the whole K row is in flight from the
 * start. Then the accumulator runs through the warps in order: warp 0 chains
 * its steps from zero, hands the accumulator to warp 1 through shared memory
 * (an exact copy of the fp32 registers), and so on; the last warp holds the
 * result. That is the same tile_mma chain, step after step, as every other
 * kernel runs: the bits are those of mm_gemv, moe_gemv and the tiled kernels.
 * The serial part (one warp's tile_mma at a time) is a few hundred cycles per
 * warp; the load latency is paid once per block instead of once per round.
 */
#ifndef GETP_RELAY_H
#define GETP_RELAY_H

#include "tile.h" // TileC, tile_zero

#define RELAY_W 8 // warps a block: each holds 1/8 of the chain

#include <stdlib.h> // getenv
#include <string.h>

/* The relay kernels are on unless GETP_NO_RELAY is set (to anything but 0):
 * a switch for measuring them against the kernels they replace (same bits). */
static inline bool relay_on(void) {
    static int on = -1;
    if (on < 0) {
        const char *env = getenv("GETP_NO_RELAY");
        on = !(env && *env && strcmp(env, "0") != 0);
    }
    return on != 0;
}

/* First k-step of warp w's part of a chain of S steps (balanced). */
__device__ __forceinline__ int relay_lo(int w, int S) { return (int)((long)w * S / RELAY_W); }

/* Run the chain: warps in order, each applying own(acc) to its steps, the
 * accumulators handed on through `hand` (NT * GETP_WAVE TileC of shared
 * memory). Every thread of the block calls it; afterwards acc is the result
 * in warp RELAY_W - 1 (and a prefix of the chain in the others). */
template <int NT, class Own>
__device__ __forceinline__ void relay_chain(TileC (&acc)[NT], TileC *hand, Own own) {
    const int warp = threadIdx.x / GETP_WAVE, lane = threadIdx.x % GETP_WAVE;
#pragma unroll
    for (int t = 0; t < NT; t++) tile_zero(&acc[t]);
#pragma unroll 1
    for (int w = 0; w < RELAY_W; w++) {
        if (warp == w) {
            if (w > 0) {
#pragma unroll
                for (int t = 0; t < NT; t++) acc[t] = hand[t * GETP_WAVE + lane];
            }
            own(acc);
            if (w < RELAY_W - 1) {
#pragma unroll
                for (int t = 0; t < NT; t++) hand[t * GETP_WAVE + lane] = acc[t];
            }
        }
        __syncthreads();
    }
}

#endif
