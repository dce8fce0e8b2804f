/* port_cuda.h: the NVIDIA side of the port (port.h says what a vendor header
 * provides). Under nvcc the HIP sources compile as CUDA: the runtime names
 * below are a table and nothing clever. Device-code capabilities follow
 * __CUDA_ARCH__; the host pass sees the fallbacks (it runs no device code).
 *
 * GETP_PORTABLE (the portable build, -DGETP_PORTABLE=ON): the AMD code
 * structure on an NVIDIA GPU, so the algorithm an MI250 user runs is the one
 * measured here: no cp.async (plain copies), no warpgroup MMA, no bf16x2
 * arithmetic; mma.sync stands in for the MFMA tile.
 */
#ifndef GETP_PORT_CUDA_H
#define GETP_PORT_CUDA_H

#include <cuda_runtime.h>

#define GETP_WAVE 32
/* The launch bound (__launch_bounds__'s second argument: blocks an SM here) at
 * which a block of 256 threads may take 256 registers a thread (port.h): 64 K
 * registers an SM hold one such block. */
#define GETP_MINB_WIDE 1

#include "port_bf16.h" // port_pack_bf16x2_soft
#include "common.h"    // env_flag

/* ---- runtime names ---- */
#define hipError_t cudaError_t
#define hipSuccess cudaSuccess
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError
#define hipPeekAtLastError cudaPeekAtLastError
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipHostMalloc(p, n, flags) cudaMallocHost(p, n)
#define hipHostFree cudaFreeHost
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemset cudaMemset
#define hipMemsetAsync cudaMemsetAsync
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemGetInfo cudaMemGetInfo
#define hipStream_t cudaStream_t
#define hipStreamCreate cudaStreamCreate
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipDeviceSynchronize cudaDeviceSynchronize
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipGetDeviceCount cudaGetDeviceCount
#define hipDeviceProp_t cudaDeviceProp
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipEvent_t cudaEvent_t
#define hipEventCreate cudaEventCreate
#define hipEventDestroy cudaEventDestroy
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime
#define hipFuncSetAttribute(f, a, v) cudaFuncSetAttribute(f, a, v)
#define hipFuncAttributeMaxDynamicSharedMemorySize cudaFuncAttributeMaxDynamicSharedMemorySize
#define hipGraph_t cudaGraph_t
#define hipGraphExec_t cudaGraphExec_t
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipStreamCaptureModeGlobal cudaStreamCaptureModeGlobal
#define hipStreamCaptureModeThreadLocal cudaStreamCaptureModeThreadLocal
#define hipStreamCaptureModeRelaxed cudaStreamCaptureModeRelaxed // engine_gpu_graph.hip
#define hipGraphInstantiate(e, g, a, b, c) cudaGraphInstantiate(e, g, 0)
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy
#define hipMemcpyKind cudaMemcpyKind
#define hipGetErrorName cudaGetErrorName
#define hipStreamWaitEvent cudaStreamWaitEvent
#define hipEventDisableTiming cudaEventDisableTiming
#define hipEventCreateWithFlags cudaEventCreateWithFlags
#define hipDeviceGetAttribute cudaDeviceGetAttribute
#define hipDeviceAttributeMultiprocessorCount cudaDevAttrMultiProcessorCount
#define hipDeviceAttributeWarpSize cudaDevAttrWarpSize

#define hipDeviceAttributeMaxSharedMemoryPerBlock cudaDevAttrMaxSharedMemoryPerBlock

/* ---- architecture and capabilities ---- */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define GETP_SM90 1
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GETP_HAS_MMA_SYNC 1
#else
#define GETP_HAS_MMA_SYNC 0
#endif
#if GETP_HAS_MMA_SYNC && !defined(GETP_PORTABLE)
#define GETP_HAS_ASYNC_COPY 1
#define GETP_HAS_BF16X2_FMA 1
#else
#define GETP_HAS_ASYNC_COPY 0
#define GETP_HAS_BF16X2_FMA 0
#endif
/* The staging policy of the pipelined kernels, the same in the host and the
 * device pass (the host sizes their shared memory): cp.async stages, or (the
 * portable build, AMD) register staging. */
#if defined(GETP_PORTABLE)
#define GETP_STAGE_ASYNC 0
#else
#define GETP_STAGE_ASYNC 1
#endif
/* nvcc keeps fp32 denormals unless asked for -ftz / fast math (we never are). */
#define GETP_F32_DENORMALS 1
#if defined(GETP_WGMMA) && defined(__CUDA_ARCH_FEAT_SM90_ALL) && !defined(GETP_PORTABLE)
#define GETP_HAS_WGMMA 1
#else
#define GETP_HAS_WGMMA 0
#endif

/* Programmatic dependent launch (Hopper): a kernel launched by port_launch is
 * launched as the blocks of the kernel before it in the stream exit, not after
 * the whole grid has drained; port_dep_wait() blocks until that kernel has
 * finished and its writes are visible. (Letting the next kernel launch earlier,
 * griddepcontrol.launch_dependents at a kernel's start, cost 2.6% at batch 1:
 * bench/RESULTS.md run 37.) Not in the portable build (the AMD structure: AMD
 * has no such launch). */
#if !defined(GETP_PORTABLE)
#define GETP_HAS_PDL 1
#else
#define GETP_HAS_PDL 0
#endif
__device__ __forceinline__ void port_dep_wait(void) {
#if GETP_HAS_PDL && defined(GETP_SM90)
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
/* Whether launches carry the attribute: compute capability >= 9 and no
 * GETP_NO_PDL=1 (A/B runs: the same bits either way). Read once a file. */
static inline int port_pdl_enabled(void) {
    static int on = -1;
    if (on < 0) {
        int dev = 0, major = 0;
        if (cudaGetDevice(&dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
            major = 0;
        on = major >= 9 && !env_flag("GETP_NO_PDL");
    }
    return on;
}
template <typename... P, typename... A>
static inline void port_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                               cudaStream_t stream, A... args) {
#if GETP_HAS_PDL
    if (port_pdl_enabled()) {
        cudaLaunchAttribute at[1];
        at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        at[0].val.programmaticStreamSerializationAllowed = 1;
        cudaLaunchConfig_t c = {};
        c.gridDim = grid;
        c.blockDim = block;
        c.dynamicSmemBytes = smem;
        c.stream = stream;
        c.attrs = at;
        c.numAttrs = 1;
        (void)cudaLaunchKernelEx(&c, kernel, ((P)args)...); // errors: GPU_CHECK_LAUNCH after
        return;
    }
#endif
    kernel<<<grid, block, smem, stream>>>(((P)args)...);
}

/* ---- shuffles over the whole wave ---- */
#define GETP_SHFL_XOR(v, m) __shfl_xor_sync(~0u, (v), (m), GETP_WAVE)
#define GETP_SHFL(v, l) __shfl_sync(~0u, (v), (l), GETP_WAVE)
#define GETP_SHFL_UP(v, d) __shfl_up_sync(~0u, (v), (d), GETP_WAVE)
/* the lowest lane whose pred holds (it must hold on at least one lane) */
__device__ __forceinline__ int port_first_lane(bool pred) { return __ffs(__ballot_sync(~0u, pred)) - 1; }
/* whether pred holds on any lane of the wave (the same answer on every lane) */
__device__ __forceinline__ bool port_any(bool pred) { return __any_sync(~0u, pred) != 0; }

/* ---- the matrix tile: mma.sync m16n8k16 bf16 ---- */
/* c (16x8 fp32 fragment) += a (16x16 bf16) b (16x8 bf16), the PTX fragment
 * layout. Device code below sm_80 (and the host pass) traps: the launchers
 * never choose a kernel that calls it there. */
__device__ __forceinline__ void port_mma_16x8x16(float *c, uint32_t a0, uint32_t a1, uint32_t a2,
                                                 uint32_t a3, uint32_t b0, uint32_t b1) {
#if GETP_HAS_MMA_SYNC
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    (void)c, (void)a0, (void)a1, (void)a2, (void)a3, (void)b0, (void)b1;
    __trap();
#endif
}
#if GETP_HAS_MMA_SYNC && !(defined(GETP_TILE_FALLBACK) && GETP_TILE_FALLBACK)
#include "port_tile_nvlayout.h"
/* Logical k (2q, 2q+1, 2q+8, 2q+9) of instruction 1 = the lane's k 0..3. */
__device__ __forceinline__ void tile_mma(TileC *acc, const TileA *a, const TileB *b) {
    port_mma_16x8x16(acc->c, a->v[0].x, a->v[1].x, a->v[0].y, a->v[1].y, b->v.x, b->v.y);
    port_mma_16x8x16(acc->c, a->v[0].z, a->v[1].z, a->v[0].w, a->v[1].w, b->v.z, b->v.w);
}
#define GETP_TILE_IMPL "mma.sync m16n8k16"
#else
#include "port_tile_fallback.h"
#define GETP_TILE_IMPL "shuffle fallback"
#endif

/* ---- staging: global -> shared ---- */
__device__ __forceinline__ void port_cp_async16(void *smem, const void *gmem) {
#if GETP_HAS_ASYNC_COPY
    const unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
#else
    *(uint4 *)smem = *(const uint4 *)gmem;
#endif
}
__device__ __forceinline__ void port_cp_commit(void) {
#if GETP_HAS_ASYNC_COPY
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void port_cp_wait(void) {
#if GETP_HAS_ASYNC_COPY
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

/* ---- packing and bf16x2 arithmetic ---- */
/* bf16x2 of (lo -> bits 0..15, hi -> bits 16..31), round to nearest even. */
__device__ __forceinline__ uint32_t port_pack_bf16x2(float lo, float hi) {
#if GETP_HAS_MMA_SYNC
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
#else
    return port_pack_bf16x2_soft(lo, hi);
#endif
}
#if GETP_HAS_BF16X2_FMA
/* x * y for two bf16 pairs, rounded to nearest; fma with -0 keeps the sign of
 * zero products. */
__device__ __forceinline__ uint32_t port_bf16x2_mul(uint32_t x, uint32_t y) {
    uint32_t d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;\n" : "=r"(d) : "r"(x), "r"(y), "r"(0x80008000u));
    return d;
}
#endif

/* ---- byte permute (port_bytes.h: meaning, encodings, host models) ---- */
#include "port_bytes.h"
struct PortPrmt {
    __device__ static __forceinline__ uint32_t perm(uint32_t a, uint32_t b, uint32_t c) {
        return __byte_perm(a, b, c); // prmt.b32
    }
};
typedef BytesNv<PortPrmt> PortBytes;

/* ---- warpgroup MMA (sm_90a; gpu/kernels/moe_wgmma.hip) ---- */
#include "port_cuda_wgmma.h"

#endif
