#!/bin/bash
# ncu_call.sh: Nsight Compute on one launch of a MoE playground kernel (default: the wgmma
# kernel, mlp1 at M=2048): where its warps stall and how busy the tensor pipe is.
set -u
FL="-arch=sm_90a -DGETP_WGMMA=1 -O2 -Ikernels -Isrc -lineinfo"
gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o && nvcc $FL -x cu bench/kernels/bench_moe.cu \
    -Xlinker /tmp/pcommon.o -o /tmp/bench_moe || exit 1
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || echo ncu)
BENCH_M=${M:-2048} BENCH_V=${V:-8} timeout 300 $NCU -k regex:${K:-moe_wgmma_mx} -c 1 \
    --section SpeedOfLight --section Occupancy --section WarpStateStats --section SchedulerStats \
    --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis /tmp/bench_moe 2>&1 |
    grep -vE "^==PROF==|^\s*$" | head -150
