#!/bin/bash
# perf8_call.sh: one device call for the 120b course workload and the 20b long-prompt and
# single-stream modes on this tree: build, generate the 120b (tmpfs) and the 20b in
# parallel, then run_bench.sh course on the 120b (COUNT120 prompts), long and single on
# the 20b (single unperturbed: PROFILE=0). Logs to /tmp/perf8, a tarball to $OUT.
set -u
res=${OUT:-/tmp}; out=/tmp/perf8; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)
mkdir -p /mnt/t && mount -t tmpfs -o size=100G tmpfs /mnt/t
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C build-bench getp getp-model-gen >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
build-bench/getp-model-gen --preset 120b --seed 1 --out /mnt/t/m120b >"$out/gen120.log" 2>&1 &
g120=$!
build-bench/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen20.log" 2>&1 &
g20=$!
wait $g120; echo "120b generated at $(( $(date +%s) - t0 )) s"
MODEL=/mnt/t/m120b COUNT=${COUNT120:-1024} OUT=$out/b120 SKIP_BUILD=1 timeout 400 bash bench/run_bench.sh course
wait $g20; echo "######## 20b long at $(( $(date +%s) - t0 )) s"
OUT=$out/b20 SKIP_BUILD=1 timeout 150 bash bench/run_bench.sh long
echo "######## 20b single at $(( $(date +%s) - t0 )) s"
PROFILE=0 OUT=$out/b20 SKIP_BUILD=1 timeout 60 bash bench/run_bench.sh single
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf8_logs.tgz" -C "$out" . 2>/dev/null
