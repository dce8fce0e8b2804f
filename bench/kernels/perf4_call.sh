#!/bin/bash
# perf4_call.sh: one device call for the 120b medium-M MoE kernel + logits-buffer change:
# build, generate the 120b (tmpfs) and 20b models in the background, run test_gemm and
# test_gpu_ops meanwhile, then test_gpu_e2e, the 120b course workload (COUNT/STEPS120)
# and the 20b quick mode. Each step is skipped once the call's time (LIMIT s) runs short.
set -u
res=${OUT:-/tmp}; out=/tmp/perf4; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
t0=$(date +%s); LIMIT=${LIMIT:-460}
left() { echo $(( LIMIT - ($(date +%s) - t0) )); }
nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,clocks.max.sm --format=csv,noheader
mkdir -p /mnt/t && mount -t tmpfs -o size=100G tmpfs /mnt/t
(gcc -c -O2 -Isrc src/common.c -o /tmp/common.o && nvcc -arch=sm_90 -O2 -Ikernels -Isrc -x cu tests/gpu/test_gemm.cu \
    kernels/matmul.hip kernels/moe.hip -Xlinker /tmp/common.o -o /tmp/test_gemm >"$out/gemm_build.log" 2>&1) &
gemm_pid=$!
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C build-bench getp-model-gen >"$out/build.log" 2>&1 || { tail "$out/build.log"; exit 1; }
(build-bench/getp-model-gen --preset 120b --seed 1 --out /mnt/t/m120b >"$out/gen120.log" 2>&1; echo "120b gen done at $(( $(date +%s) - t0 )) s rc=$?") &
g120=$!
(build-bench/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen20.log" 2>&1; echo "20b gen done at $(( $(date +%s) - t0 )) s") &
ninja -C build-bench getp test_gpu_ops test_gpu_e2e >>"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
echo "build done at $(( $(date +%s) - t0 )) s"
wait $gemm_pid
if [ -x /tmp/test_gemm ]; then timeout 120 /tmp/test_gemm >"$out/gemm.log" 2>&1
    echo "test_gemm rc=$? $(tail -1 "$out/gemm.log")"; grep -E "FAIL" "$out/gemm.log" | head -8
else tail -5 "$out/gemm_build.log"; fi
timeout 120 build-bench/test_gpu_ops >"$out/ops.log" 2>&1
echo "test_gpu_ops rc=$? $(grep -E 'FAIL|passed' "$out/ops.log" | tr '\n' ' ')"
timeout $(( $(left) > 330 ? 120 : 30 )) build-bench/test_gpu_e2e build-bench/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e.log")  at $(( $(date +%s) - t0 )) s"; grep -E "FAIL|identical" "$out/e2e.log" | head -8
wait $g120
echo "== 120b at $(( $(date +%s) - t0 )) s, left $(left) s"
MODEL=/mnt/t/m120b COUNT=${COUNT120:-1024} STEPS=${STEPS120:-256} OUT=$out/b120 SKIP_BUILD=1 timeout $(( $(left) - 45 )) bash bench/run_bench.sh course
wait
echo "== 20b quick at $(( $(date +%s) - t0 )) s, left $(left) s"
[ "$(left)" -gt 40 ] && OUT=$out/b20 SKIP_BUILD=1 timeout $(( $(left) - 5 )) bash bench/run_bench.sh quick
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf4_logs.tgz" -C "$out" . 2>/dev/null
