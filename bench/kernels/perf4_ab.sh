#!/bin/bash
# perf4_ab.sh: 120b A/B of kernels/moe.hip at a fixed batch: HEAD's moe.hip
# (bench/kernels/base_moe.hip.txt: make it first with `git show HEAD:kernels/moe.hip >
# bench/kernels/base_moe.hip.txt`, delete after) vs this tree, same prompts, outputs compared.
set -u
res=${OUT:-/tmp}; out=/tmp/perf4ab; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
t0=$(date +%s)
mkdir -p /mnt/t && mount -t tmpfs -o size=100G tmpfs /mnt/t
rm -rf /tmp/base; mkdir -p /tmp/base
tar --exclude='./build*' -cf - . | tar -xf - -C /tmp/base
cp bench/kernels/base_moe.hip.txt /tmp/base/kernels/moe.hip
(cd /tmp/base && cmake -S . -B /tmp/bb -G Ninja -DGETP_GPU=cuda -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=/tmp/base/deps/usr >/dev/null 2>&1 &&
    ninja -C /tmp/bb getp >"$out/build_base.log" 2>&1) &
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || exit 1
ninja -C build-bench getp getp-model-gen >"$out/build.log" 2>&1 || { tail "$out/build.log"; exit 1; }
build-bench/getp-model-gen --preset 120b --seed 1 --out /mnt/t/m120b >"$out/gen.log" 2>&1 || exit 1
wait
echo "builds + gen at $(( $(date +%s) - t0 )) s"
export MODEL=/mnt/t/m120b COUNT=1024 STEPS=256 BATCH=${BATCH:-342} SKIP_BUILD=1
echo "######## baseline (HEAD moe.hip)"
OUT=$out/base BUILD=/tmp/bb timeout 200 bash bench/run_bench.sh course
echo "######## this tree"
OUT=$out/new timeout 170 bash bench/run_bench.sh course
cmp -s $out/base/course.out $out/new/course.out && echo "120b outputs identical to baseline" || echo "120b OUTPUTS DIFFER"
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/perf4ab_logs.tgz" -C "$out" . 2>/dev/null
