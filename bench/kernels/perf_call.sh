#!/bin/bash
# perf_call.sh: one device call of the throughput work (bench/RESULTS.md): builds
# this tree (build-bench) and a baseline tree (this tree with .perfbase/kernels/*
# laid over it: the kernels as they were before the change under test) side by
# side, runs the GPU tests and test_gemm on this tree, then bench/run_bench.sh:
# MODES_BASE on the baseline, MODES on this tree, and compares their outputs.
# Logs stay in /tmp/perf_call; a tarball of them (outputs left out) goes to $OUT.
set -u
res=${OUT:-/tmp}; out=/tmp/perf_call; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,clocks.max.sm --format=csv,noheader
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C build-bench getp-model-gen >"$out/build.log" 2>&1 || { tail "$out/build.log"; exit 1; }
[ -f /tmp/m20b/model.safetensors ] || build-bench/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen.log" 2>&1 &
if [ -d .perfbase ] && [ -n "${MODES_BASE:-}" ]; then
    rm -rf /tmp/base; mkdir -p /tmp/base
    tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C /tmp/base
    cp -r .perfbase/kernels/. /tmp/base/kernels/
    (cd /tmp/base && cmake -S . -B /tmp/bb -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=/tmp/base/deps/usr >/dev/null 2>&1 &&
        ninja -C /tmp/bb getp >"$out/build_base.log" 2>&1) &
fi
(gcc -c -O2 -Isrc src/common.c -o /tmp/common.o && nvcc -arch=sm_90 -O2 -Ikernels -Isrc -x cu tests/gpu/test_gemm.cu \
    kernels/matmul.hip kernels/moe.hip -Xlinker /tmp/common.o -o /tmp/test_gemm >"$out/gemm_build.log" 2>&1) &
ninja -C build-bench getp test_gpu_ops test_gpu_e2e >>"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
wait
echo "builds + model: $(( $(date +%s) - t0 )) s"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
    timeout 120 build-bench/test_gpu_ops >"$out/ops.log" 2>&1
    echo "test_gpu_ops rc=$? $(grep -E 'FAIL|passed' "$out/ops.log" | tr '\n' ' ')"
    timeout 200 build-bench/test_gpu_e2e build-bench/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
    echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e.log")"; grep -E "FAIL|identical" "$out/e2e.log" | head -5
    if [ -x /tmp/test_gemm ]; then timeout 120 /tmp/test_gemm >"$out/gemm.log" 2>&1
        echo "test_gemm rc=$? $(tail -1 "$out/gemm.log")"; grep FAIL "$out/gemm.log" | head -5
    else tail -5 "$out/gemm_build.log"; fi
fi
if [ -n "${MODES_BASE:-}" ] && [ -x /tmp/bb/getp ]; then
    echo "######## baseline (.perfbase kernels)"
    OUT=$out/base BUILD=/tmp/bb SKIP_BUILD=1 bash bench/run_bench.sh $MODES_BASE
fi
echo "######## this tree"
OUT=$out/new SKIP_BUILD=1 bash bench/run_bench.sh ${MODES:-quick}
for m in ${MODES_BASE:-}; do
    [ -f "$out/base/$m.out" ] && { cmp -s "$out/base/$m.out" "$out/new/$m.out" && echo "$m: outputs identical to baseline" || echo "$m: OUTPUTS DIFFER from baseline"; }
done
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf_logs.tgz" -C "$out" . 2>/dev/null
