#!/bin/bash
# perf5_call.sh: one device call for the cp.async dense GEMM + 2-k-step MoE stages:
# perf_call.sh (tests, baseline vs this tree on MODES / MODES_BASE, outputs compared),
# then the kernel playground (bench_moe, bench_matmul) on this tree.
set -u
res=${OUT:-/tmp}
FL="-arch=sm_90 -O2 -Ikernels -Isrc"
(gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o &&
    nvcc $FL -x cu bench/kernels/bench_matmul.cu -Xlinker /tmp/pcommon.o -o /tmp/bench_matmul &&
    nvcc $FL -x cu bench/kernels/bench_moe.cu -Xlinker /tmp/pcommon.o -o /tmp/bench_moe) >/tmp/play_build.log 2>&1 &
OUT=$res bash bench/kernels/perf_call.sh
wait
echo "######## playground"
[ -x /tmp/bench_moe ] || tail -5 /tmp/play_build.log
timeout 150 /tmp/bench_moe | grep -E "VALID|^mlp|sort" | awk '$2 >= 1024 || /VALID/'
for s in qkv o unembed; do timeout 60 /tmp/bench_matmul $s | awk '$2 >= 256 || /VALID/'; done
