/* moe_families.h: the MoE kernel families as moe.hip's dispatcher sees them
 * (internal to gpu/kernels/). */
#ifndef GETP_MOE_FAMILIES_H
#define GETP_MOE_FAMILIES_H

#include "kernels.h" // MoeArgs

enum { MOE_MLP1 = 1, MOE_MLP2 = 2 }; // which expert GEMM: its operand rows and epilogue

#define MOE_GEMV_THREADS 128
#define MOE_GEMV_BM 16 // pairs per moe_gemv pass (TILE_M)

/* moe_tiles.hip (every build): few pairs per expert / 64- or 128-row tiles. */
void moe_launch_gemv(const MoeArgs &a, int epi, hipStream_t stream);
void moe_launch_tiled(const MoeArgs &a, int epi, int warps_m, hipStream_t stream);

/* moe_wgmma.hip (fast NVIDIA builds for sm_90a). */
void moe_launch_wgmma(const MoeArgs &a, int epi, hipStream_t stream);

#endif
