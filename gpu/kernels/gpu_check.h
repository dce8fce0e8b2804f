/* gpu_check.h: check macros for the GPU runtime (docs/CONTRIBUTING.md "Errors"),
 * and the one device query the launchers share (gpu_sm_count).
 *
 * A failing runtime call or kernel launch is a programmer error or a broken
 * device: print the expression, file:line, the device and the runtime's
 * message through fatal() (common.h), which ends the whole job (MPI_Abort
 * under MPI). Never compiled out.
 *
 *   GPU_CHECK(hipMalloc(&p, n));
 *   port_launch(my_kernel, grid, block, 0, stream, args...);
 *   GPU_CHECK_LAUNCH();
 */
#ifndef GETP_GPU_CHECK_H
#define GETP_GPU_CHECK_H

#include "port.h"
#include "common.h" // fatal

#define GPU_CHECK(call)                                                                   \
    do {                                                                                  \
        hipError_t gpu_check_e_ = (call);                                                 \
        if (gpu_check_e_ != hipSuccess) {                                                 \
            int gpu_check_dev_ = -1;                                                      \
            (void)hipGetDevice(&gpu_check_dev_);                                          \
            fatal("GPU error: %s failed: %s (%s) (%s:%d, device %d)", #call,              \
                  hipGetErrorName(gpu_check_e_), hipGetErrorString(gpu_check_e_),         \
                  __FILE__, __LINE__, gpu_check_dev_);                                    \
        }                                                                                 \
    } while (0)

/* After every kernel launch: catches bad launch configurations at once
 * (asynchronous faults surface at the next synchronizing GPU_CHECK). */
#define GPU_CHECK_LAUNCH() GPU_CHECK(hipGetLastError())

/* Multiprocessors (SMs / CUs) of the current device, asked once per launcher
 * file (one device per process). */
static inline int gpu_sm_count(void) {
    static int n = 0;
    if (!n) {
        int dev = 0;
        GPU_CHECK(hipGetDevice(&dev));
        GPU_CHECK(hipDeviceGetAttribute(&n, hipDeviceAttributeMultiprocessorCount, dev));
    }
    return n;
}

#endif
