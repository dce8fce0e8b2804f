#!/bin/bash
# perf7_call.sh: one device call for the GEMM work: build (cmake, 90a), test_gemm (bitwise:
# wgmma tiles == GEMV/mma.sync rows), test_gpu_ops, test_gpu_e2e, the kernel playground
# (bench_moe, bench_matmul), then bench/run_bench.sh for each of MODES (default course).
# AB=1: each mode also runs with GETP_NO_WGMMA=1 first and the outputs are compared (what
# perf6_call.sh did in run 11). Logs to /tmp/perf7, a tarball to $OUT.
set -u
res=${OUT:-/tmp}; out=/tmp/perf7; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,clocks.max.sm --format=csv,noheader
(gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o &&
    nvcc -arch=sm_90a -DGETP_WGMMA=1 -O2 -Ikernels -Isrc -x cu bench/kernels/bench_moe.cu \
        -Xlinker /tmp/pcommon.o -o /tmp/bench_moe &&
    nvcc -arch=sm_90a -O2 -Ikernels -Isrc -x cu bench/kernels/bench_matmul.cu \
        -Xlinker /tmp/pcommon.o -o /tmp/bench_matmul) >"$out/play_build.log" 2>&1 &
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C build-bench getp-model-gen >"$out/build.log" 2>&1 || { tail "$out/build.log"; exit 1; }
[ -f /tmp/m20b/model.safetensors ] || build-bench/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen.log" 2>&1 &
ninja -C build-bench getp test_gpu_ops test_gpu_e2e test_gemm >>"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
timeout 120 build-bench/test_gemm >"$out/gemm.log" 2>&1
echo "test_gemm rc=$? $(tail -1 "$out/gemm.log")"; grep FAIL "$out/gemm.log" | head -8
timeout 120 build-bench/test_gpu_ops >"$out/ops.log" 2>&1
echo "test_gpu_ops rc=$? $(grep -E 'FAIL|passed' "$out/ops.log" | tr '\n' ' ')"
timeout 240 build-bench/test_gpu_e2e build-bench/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e.log")"; grep -E "FAIL|identical: NO" "$out/e2e.log" | head -10
wait
echo "######## playground ($(( $(date +%s) - t0 )) s)"
[ -x /tmp/bench_moe ] || tail -5 "$out/play_build.log"
timeout 150 /tmp/bench_moe | grep -E "VALID|^mlp" | awk '($2 >= 1024 && ($3 == "v5" || $3 ~ /^v(7|8|9|10)$/)) || /VALID/'
for sh in qkv o unembed; do timeout 90 /tmp/bench_matmul $sh | awk '($2 >= 1024 && $3 ~ /^v(4|6|7|9|11|12)$/) || /VALID/'; done
for m in ${MODES:-course}; do
    if [ "${AB:-0}" = 1 ]; then
        echo "######## $m, GETP_NO_WGMMA=1 ($(( $(date +%s) - t0 )) s)"
        GETP_NO_WGMMA=1 OUT=$out/base SKIP_BUILD=1 bash bench/run_bench.sh $m |
            grep -E "throughput|profile: (moe mlp|wall)|mean step"
    fi
    echo "######## $m ($(( $(date +%s) - t0 )) s)"
    OUT=$out/new SKIP_BUILD=1 bash bench/run_bench.sh $m
    if [ "${AB:-0}" = 1 ]; then
        cmp -s "$out/base/$m.out" "$out/new/$m.out" && echo "$m: outputs identical" || echo "$m: OUTPUTS DIFFER"
    fi
done
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf7_logs.tgz" -C "$out" . 2>/dev/null
