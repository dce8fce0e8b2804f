/* port_hip.h: the AMD side of the port (port.h says what a vendor header
 * provides): HIP is the native language, so the runtime names need no table.
 * Targets: gfx90a (MI250/MI250X, CDNA2) and gfx942 (MI300X/MI300A, CDNA3),
 * both wave 64 with MFMA. Nothing here has run on AMD hardware in this
 * project: it compiles in CI (gfx90a, gfx942), its lane maps are checked on
 * the host against the documented MFMA layouts (tests/gpu/test_wave64.c),
 * and `getp --selftest` checks every kernel on the user's GPU.
 */
#ifndef GETP_PORT_HIP_H
#define GETP_PORT_HIP_H

#include <hip/hip_runtime.h>

#define GETP_WAVE 64
/* The launch bound (__launch_bounds__'s second argument: waves an EU here) at
 * which a block of 256 threads may take 256 registers a thread (port.h). */
#define GETP_MINB_WIDE 2

#include "port_bf16.h" // port_pack_bf16x2_soft

/* ---- architecture and capabilities ---- */
#if defined(__gfx90a__)
#define GETP_CDNA2 1
#endif
#if defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__)
#define GETP_CDNA3 1
#endif
#define GETP_HAS_MMA_SYNC 0
#define GETP_HAS_ASYNC_COPY 0
#define GETP_HAS_BF16X2_FMA 0
#define GETP_HAS_WGMMA 0
#define GETP_STAGE_ASYNC 0 // the pipelined kernels stage through registers
/* The MXFP4 decode's denormal bit trick is not used on AMD: its fp32 denormal
 * mode has not been checked on a device here. */
#define GETP_F32_DENORMALS 0

/* No programmatic dependent launch on AMD: kernels start when the one before
 * them has finished, and the port's calls are no-ops. */
#define GETP_HAS_PDL 0
__device__ __forceinline__ void port_dep_wait(void) {}
template <typename... P, typename... A>
static inline void port_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                               hipStream_t stream, A... args) {
    kernel<<<grid, block, smem, stream>>>(((P)args)...);
}

/* ---- shuffles over the whole wave ---- */
#define GETP_SHFL_XOR(v, m) __shfl_xor((v), (m), GETP_WAVE)
#define GETP_SHFL(v, l) __shfl((v), (l), GETP_WAVE)
#define GETP_SHFL_UP(v, d) __shfl_up((v), (d), GETP_WAVE)
/* the lowest lane whose pred holds (it must hold on at least one lane) */
__device__ __forceinline__ int port_first_lane(bool pred) {
    return __ffsll((unsigned long long)__ballot(pred)) - 1;
}
/* whether pred holds on any lane of the wave (the same answer on every lane) */
__device__ __forceinline__ bool port_any(bool pred) { return __any(pred) != 0; }

/* ---- the matrix tile: v_mfma_f32_16x16x16bf16_1k ---- */
#if (defined(GETP_CDNA2) || defined(GETP_CDNA3)) && !(defined(GETP_TILE_FALLBACK) && GETP_TILE_FALLBACK)
/* MFMA 16x16x16 (AMD's CDNA ISA, "dense matrix layouts"): A lane = row + 16 *
 * (k / 4); B lane = col + 16 * (k / 4); D lane = col + 16 * (row / 4), item
 * row % 4. A lane's 8 k of a 32-step are two instructions of 4. */
#define GETP_TILE_LAYOUT_MFMA16 1 // port_tile_chain.h picks its conversions by layout
#define TILE_N 16
#define TILE_A_ROWS 1
#include "port_tile_types.h"
#include "port_layouts.h" // mfma16_*: the maps, checked on the host (tests/gpu/test_wave64.c)
__device__ __forceinline__ int tile_a_row(int r) { (void)r; return mfma16_a_row(tile_lane()); }
__device__ __forceinline__ int tile_b_row(void) { return mfma16_b_row(tile_lane()); }
__device__ __forceinline__ int tile_k_off(void) { return mfma16_k_off(tile_lane()); }
__device__ __forceinline__ int tile_c_row(int i) { return mfma16_c_row(tile_lane(), i); }
__device__ __forceinline__ int tile_c_col(int i) { return mfma16_c_col(tile_lane(), i); }

typedef short tile_bf16x4 __attribute__((ext_vector_type(4)));
typedef float tile_f32x4 __attribute__((ext_vector_type(4)));

__device__ __forceinline__ tile_bf16x4 tile_pack4(uint32_t lo, uint32_t hi) {
    tile_bf16x4 r;
    r[0] = (short)(lo & 0xffffu);
    r[1] = (short)(lo >> 16);
    r[2] = (short)(hi & 0xffffu);
    r[3] = (short)(hi >> 16);
    return r;
}

__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    tile_f32x4 c = {acc->c[0], acc->c[1], acc->c[2], acc->c[3]};
    c = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(tile_pack4(a->v[0].x, a->v[0].y),
                                                  tile_pack4(b->v.x, b->v.y), c, 0, 0, 0);
    c = __builtin_amdgcn_mfma_f32_16x16x16bf16_1k(tile_pack4(a->v[0].z, a->v[0].w),
                                                  tile_pack4(b->v.z, b->v.w), c, 0, 0, 0);
    acc->c[0] = c[0];
    acc->c[1] = c[1];
    acc->c[2] = c[2];
    acc->c[3] = c[3];
}

/* Value of the element in the same row, column col ^ 1 (all lanes must call). */
__device__ __forceinline__ float tile_c_partner(const TileC *acc, int i) {
    return GETP_SHFL_XOR(acc->c[i], 1);
}
/* Value of the element in the same column, row row ^ 1 (the lane holds both). */
__device__ __forceinline__ float tile_c_row_partner(const TileC *acc, int i) { return acc->c[i ^ 1]; }
#define GETP_TILE_IMPL "mfma 16x16x16 bf16_1k"
#else
#include "port_tile_fallback.h"
#define GETP_TILE_IMPL "shuffle fallback"
#endif

/* ---- staging: plain 16-byte copies (no asynchronous copy engine used) ---- */
__device__ __forceinline__ void port_cp_async16(void *smem, const void *gmem) {
    *(uint4 *)smem = *(const uint4 *)gmem;
}
__device__ __forceinline__ void port_cp_commit(void) {}
template <int N>
__device__ __forceinline__ void port_cp_wait(void) {}

/* ---- byte permute (port_bytes.h: meaning, encodings, host models) ---- */
#include "port_bytes.h"
struct PortVperm {
    __device__ static __forceinline__ uint32_t perm(uint32_t s0, uint32_t s1, uint32_t sel) {
        return __builtin_amdgcn_perm(s0, s1, sel); // v_perm_b32
    }
};
typedef BytesAmd<PortVperm> PortBytes;

/* ---- packing ---- */
__device__ __forceinline__ uint32_t port_pack_bf16x2(float lo, float hi) {
    return port_pack_bf16x2_soft(lo, hi);
}

#endif
