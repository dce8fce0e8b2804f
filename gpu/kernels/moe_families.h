/* moe_families.h: the MoE kernel families as moe.hip's dispatcher sees them
 * (internal to gpu/kernels/). */
#ifndef GETP_MOE_FAMILIES_H
#define GETP_MOE_FAMILIES_H

#include "kernels.h" // MoeArgs

enum { MOE_MLP1 = 1, MOE_MLP2 = 2 }; // which expert GEMM: its operand rows and epilogue

#define MOE_GEMV_THREADS 128
#define MOE_GEMV_BM 16 // pairs per moe_gemv pass (TILE_M)

/* Grid size over slots for P sorted pairs, bm pairs a slot, E experts: an
 * upper bound that does not need the counts (ceil(P / bm) + E), and never
 * more than P, since every slot holds at least one pair. At batch 1 that is
 * 4 blocks a column range instead of E + 1 (129 for the 120b), the rest of
 * which only found out they were spare. */
static inline unsigned moe_grid_slots(int P, int bm, int E) {
    const int bound = (P + bm - 1) / bm + E;
    return (unsigned)(P < bound ? P : bound);
}

/* moe_tiles.hip (every build): few pairs per expert / 64- or 128-row tiles. */
void moe_launch_gemv(const MoeArgs &a, int epi, hipStream_t stream);
void moe_launch_tiled(const MoeArgs &a, int epi, int warps_m, hipStream_t stream);

/* The 64-pair warpgroup slots' default range of pairs an expert, (LO, HI]
 * (moe_set_w64, GETP_MOE_W64): under it moe_mid_mx, over it the 128-pair slots. */
#define MOE_W64_LO 28
#define MOE_W64_HI 60
#define MOE_W64_KS 2 // k-steps a stage of those slots: the dispatch asks K / 32 to be a multiple

/* moe_wgmma.hip (fast NVIDIA builds for sm_90a): slots of rows = 128 or 64 pairs. */
void moe_launch_wgmma(const MoeArgs &a, int epi, int rows, hipStream_t stream);

#endif
