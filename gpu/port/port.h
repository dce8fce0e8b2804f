/* port.h: the vendor port of the GPU backend. Kernels are written in HIP and
 * include this header; it includes the one vendor header that applies
 * (port_cuda.h under nvcc, port_hip.h under hipcc), and every line that
 * depends on the vendor or the architecture lives in those two headers (the
 * pattern of ggml's vendors/ headers): kernels call the primitives and test
 * only the capability macros defined here, never __CUDACC__ or __gfx*__.
 *
 * What each vendor header provides:
 *   runtime     the HIP runtime names (port_cuda.h maps them to CUDA's: a
 *               table of names and nothing clever)
 *   GETP_WAVE   lanes per wave: 64 on AMD CDNA, 32 on NVIDIA. Never write
 *               32/64 (or 0xffffffff masks) in a kernel.
 *   GETP_MINB_WIDE   the __launch_bounds__ minimum at which a 256-thread
 *               block may take 256 registers a thread: 1 (block an SM) on
 *               NVIDIA, 2 (waves an EU, 512 VGPRs a SIMD lane) on AMD CDNA
 *               (the dense split tiles' register total: bench/RESULTS.md run 84)
 *   GETP_SHFL, GETP_SHFL_XOR, GETP_SHFL_UP   shuffles over the whole wave;
 *               port_first_lane(pred): the lowest lane where pred holds (ballot);
 *               port_any(pred): whether it holds on any lane (vote)
 *   the matrix tile (tile.h's contract): TILE_N, TILE_A_ROWS, the lane maps
 *               tile_a_row/tile_b_row/tile_k_off/tile_c_row/tile_c_col,
 *               tile_c_partner and tile_mma, on the vendor's matrix unit
 *               (mma.sync m16n8k16 / v_mfma 16x16x16 bf16_1k) or on the
 *               shuffle fallback (port_tile_fallback.h)
 *   staging     port_cp_async16 / port_cp_commit / port_cp_wait<N>: 16-byte
 *               global -> shared copies, asynchronous where the hardware has
 *               them (cp.async), plain copies elsewhere
 *   launching   port_launch(kernel, grid, block, smem, stream, args...): every
 *               kernel launch of gpu/kernels; on Hopper a programmatic
 *               dependent launch (the kernel may start while the one before
 *               it in the stream ends), elsewhere a plain launch. A kernel
 *               launched so calls port_dep_enter() before it reads anything an
 *               earlier kernel wrote or writes anything at all; only reads of
 *               what no kernel writes (the weights) may come before it.
 *               port_dep_wait(): the kernel before has finished, its writes
 *               are visible (a no-op where launches are plain)
 *   packing     port_pack_bf16x2(lo, hi): two floats to bf16x2, round to
 *               nearest even
 *   bytes       PortBytes: a byte permute over 8 bytes with its selector
 *               encodings (port_bytes.h; prmt / v_perm_b32)
 * Capability macros (0 or 1): GETP_HAS_PDL (programmatic dependent launch),
 * GETP_HAS_MMA_SYNC (NVIDIA mma.sync, sm_80+ device code), GETP_HAS_ASYNC_COPY
 * (cp.async), GETP_HAS_BF16X2_FMA,
 * GETP_F32_DENORMALS (fp32 arithmetic keeps denormals: the MXFP4 bit trick
 * of gpu/kernels/moe_common.h needs it), GETP_HAS_WGMMA (sm_90a warpgroup MMA),
 * GETP_STAGE_ASYNC (the pipelined kernels' staging: cp.async stages, or
 * loads into registers stored to shared memory a stage later; fixed per build,
 * so host and device agree on the shared memory it takes).
 * Architecture names: GETP_SM90 (Hopper device code), GETP_CDNA2 (gfx90a),
 * GETP_CDNA3 (gfx942).
 */
#ifndef GETP_PORT_H
#define GETP_PORT_H

#include <stdint.h>

#if defined(__CUDACC__) || defined(GETP_CUDA)
#include "port_cuda.h"
#else
#include "port_hip.h"
#endif

/* A kernel's entry under port_launch (see "launching" above). */
__device__ __forceinline__ void port_dep_enter(void) { port_dep_wait(); }

#endif
