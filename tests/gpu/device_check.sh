#!/bin/sh
# device_check.sh: build the CUDA backend and run the GPU tests on a machine
# with an NVIDIA GPU (the H100/H200 device machine). Optional arguments:
# "bench" (or "bench-only": skip the tests) also generates a 20b-shaped model
# (24 layers) and times B=1 and B=64; then NEW_TOKENS (default 256).
# Headers of PCRE2/jansson come from DEPS (default deps/, made by
# tools/fetch_deps.sh). Logs go to $OUT (or /tmp/getp_gpu_logs).
set -u
root=$(pwd)
deps=${DEPS:-$root/deps}
out=${OUT:-/tmp/getp_gpu_logs}
b=/tmp/getp_gpu_build
mkdir -p "$out"
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader
t0=$(date +%s)
cmake -S . -B $b -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$deps/usr >"$out/cmake.log" 2>&1 ||
    { tail -30 "$out/cmake.log"; exit 1; }
ninja -C $b test_gpu_ops test_gpu_e2e bench_engine getp-model-gen >"$out/build.log" 2>&1 ||
    { grep -E "error|FAILED" "$out/build.log" | head -30; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
if [ "${1:-}" != "bench-only" ]; then
    timeout 120 $b/test_gpu_ops >"$out/ops.log" 2>&1; echo "test_gpu_ops rc=$?"
    grep -E "FAIL|passed|selftest" "$out/ops.log"
    timeout 200 $b/test_gpu_e2e $b/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
    echo "test_gpu_e2e rc=$?"
    grep -v "^getp: gpu\|getp-model-gen:\|prompt longer" "$out/e2e.log" | tail -40
fi
if [ "${1:-}" = "bench" ] || [ "${1:-}" = "bench-only" ]; then
    t1=$(date +%s)
    $b/getp-model-gen --preset 20b --seed 1 --out /tmp/getp_20b >"$out/gen.log" 2>&1 || exit 1
    echo "20b model generated in $(( $(date +%s) - t1 )) s"
    timeout 240 $b/bench_engine /tmp/getp_20b ${2:-256} 1 64 2>&1 | tee "$out/bench.log"
fi
