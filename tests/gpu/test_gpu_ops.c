/* test_gpu_ops.c: every op of the GPU backend against the CPU oracle
 * (ops_cpu.h) on fresh random inputs; the checks themselves are
 * gpu_selftest() (gpu/selftest/), which `getp --selftest` also
 * runs. Prints PASS/FAIL per op with its NMSE and "N passed, M failed".
 * Exit 0 all passed, 1 failures, 77 (skip) without a GPU.
 */
#include "engine_gpu.h" // gpu_selftest, gpu_device_count

int main(void) {
    if (gpu_device_count() < 1) {
        printf("test_gpu_ops: no GPU, skipped\n");
        return 77;
    }
    return gpu_selftest(stdout) == 0 ? 0 : 1;
}
