#!/bin/bash
# perf10_call.sh: one device call for the course workload of both models on this tree:
# build, generate the 120b (tmpfs) and the 20b in the background while test_gemm,
# test_gpu_ops and test_gpu_e2e run, then run_bench.sh course on the 20b (2,048 prompts)
# and on the 120b (COUNT120, default 1,024). Logs to /tmp/perf10, a tarball to $OUT.
set -u
res=${OUT:-/tmp}; out=/tmp/perf10; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
mkdir -p /mnt/t && mount -t tmpfs -o size=100G tmpfs /mnt/t
b=build-bench
cmake -S . -B $b -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C $b getp getp-model-gen >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
$b/getp-model-gen --preset 120b --seed 1 --out /mnt/t/m120b >"$out/gen120.log" 2>&1 &
g120=$!
$b/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen20.log" 2>&1 &
g20=$!
ninja -C $b test_gemm test_gpu_ops test_gpu_e2e >>"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
echo "build: $(el)"
timeout 120 $b/test_gemm >"$out/gemm.log" 2>&1
echo "test_gemm rc=$? $(tail -1 "$out/gemm.log")"; grep FAIL "$out/gemm.log" | head -8
timeout 120 $b/test_gpu_ops >"$out/ops.log" 2>&1
echo "test_gpu_ops rc=$? $(tail -1 "$out/ops.log")"; grep FAIL "$out/ops.log" | head -8
timeout 200 $b/test_gpu_e2e $b/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e.log")"; grep -E "FAIL|identical: NO" "$out/e2e.log" | head -10
wait $g20; echo "######## 20b course ($(el))"
OUT=$out/b20 SKIP_BUILD=1 timeout 200 bash bench/run_bench.sh course
wait $g120; echo "######## 120b course ($(el))"
MODEL=/mnt/t/m120b COUNT=${COUNT120:-1024} OUT=$out/b120 SKIP_BUILD=1 timeout 330 bash bench/run_bench.sh course
echo "total: $(el)"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf10_logs.tgz" -C "$out" . 2>/dev/null
