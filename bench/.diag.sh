#!/bin/bash
# diagnostics for #18 at batch 1 and 8: ncustep at B=8, moe_gemv under ncu at M=1 and 8 (mlp1 launch)
bash bench/device.sh build:cur:. model:20b "ncustep:cur:BATCH=8,COUNT=440" 2>&1 | tail -130
gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o
nvcc -gencode=arch=compute_90a,code=sm_90a -O2 -Igpu -Igpu/kernels -Igpu/port -Isrc -DGETP_WGMMA=1 -x cu bench/kernels/bench_moe.cu -Xlinker /tmp/pcommon.o -o /tmp/bench_moe || exit 1
for M in 1 8; do
  for L in 0 1; do
  BENCH_M=$M BENCH_V=0 timeout 200 ncu --clock-control none -k regex:moe_gemv --launch-skip $L --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy \
    --section LaunchStats --section MemoryWorkloadAnalysis --section InstructionStats --section SourceCounters \
    --print-details all /tmp/bench_moe > $OUT/ncu_moe_M${M}_L$L.log 2>&1
  echo "ncu M=$M L=$L rc=$?"
  done
done
BENCH_M=1/8 BENCH_V=0 /tmp/bench_moe | head -20
