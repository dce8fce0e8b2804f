/* gpu_port.h: the project's HIP -> CUDA name table. Kernels are written in HIP;
 * under nvcc (GETP_CUDA) this header maps the HIP runtime names we use to
 * CUDA's. A table of names and nothing clever (STYLE.md). It also names the
 * architecture switches once and fixes the wave size per target.
 *
 *   GETP_WAVE   64 on AMD gfx9 (CDNA), 32 on NVIDIA. Never write 32/64 literally.
 *   GETP_CDNA2  compiling device code for gfx90a (MFMA bf16_1k available)
 *   GETP_SM90   compiling device code for sm_90 (Hopper)
 */
#ifndef GETP_GPU_PORT_H
#define GETP_GPU_PORT_H

#if defined(__CUDACC__) || defined(GETP_CUDA)
#include <cuda_runtime.h>
#define GETP_WAVE 32
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
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define GETP_SM90 1
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define GETP_SM80_MMA 1
#endif
#define GETP_SHFL_XOR(v, m) __shfl_xor_sync(~0u, (v), (m), GETP_WAVE)
#define GETP_SHFL(v, l) __shfl_sync(~0u, (v), (l), GETP_WAVE)
#else
#include <hip/hip_runtime.h>
#define GETP_WAVE 64
#if defined(__gfx90a__)
#define GETP_CDNA2 1
#endif
#define GETP_SHFL_XOR(v, m) __shfl_xor((v), (m), GETP_WAVE)
#define GETP_SHFL(v, l) __shfl((v), (l), GETP_WAVE)
#endif

#endif
