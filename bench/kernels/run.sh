#!/bin/bash
# run.sh: build and run the matrix-kernel tests and playground on the GPU
# machine in one go (bench/kernels/NOTES.md logs the results).
# Usage (repo root): bash bench/kernels/run.sh [quick]
set -u
NVCC=${NVCC:-nvcc}
B=${BUILD:-/tmp/kbench}; mkdir -p "$B"
FL="-arch=sm_90 -O2 -Ikernels -Isrc"
gcc -c -O2 -Isrc src/common.c -o "$B/common.o" || exit 1
$NVCC $FL -x cu tests/gpu/test_gemm.cu kernels/matmul.hip kernels/moe.hip -Xlinker "$B/common.o" -o "$B/test_gemm" &
$NVCC $FL -DGETP_TILE_FALLBACK=1 -x cu tests/gpu/test_gemm.cu kernels/matmul.hip kernels/moe.hip -Xlinker "$B/common.o" -o "$B/test_gemm_fallback" &
$NVCC $FL -x cu bench/kernels/bench_matmul.cu -Xlinker "$B/common.o" -o "$B/bench_matmul" &
$NVCC $FL -x cu bench/kernels/bench_moe.cu -Xlinker "$B/common.o" -o "$B/bench_moe" &
wait
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
echo "== test_gemm (mma)"; "$B/test_gemm" | tail -40
echo "== test_gemm (fallback tile)"; "$B/test_gemm_fallback" | tail -3
[ "${1:-}" = quick ] && exit 0
echo "== bench_moe"; "$B/bench_moe"
echo "== bench_matmul"; "$B/bench_matmul"
