#!/bin/bash
# first_figures_call.sh: bench_engine (B = 1 and 64, 256 new tokens) on the 20b and the 120b
# (tmpfs), fast and precise (GETP_PRECISE=1): the first-figures format of the GPU issue.
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu
mkdir -p /mnt/t && mount -t tmpfs -o size=100G tmpfs /mnt/t
cmake -S . -B build-bench -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >/tmp/c.log 2>&1 && ninja -C build-bench bench_engine getp-model-gen >/tmp/b.log 2>&1 || { tail /tmp/b.log; exit 1; }
build-bench/getp-model-gen --preset 120b --seed 1 --out /mnt/t/m120b >/tmp/g120.log 2>&1 &
build-bench/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >/tmp/g20.log 2>&1
for p in "" 1; do echo "== 20b precise=${p:-0}"; GETP_PRECISE=$p timeout 100 build-bench/bench_engine /tmp/m20b 256 1 64 2>&1 | grep -E "bench:|GB|batch" | cut -c1-200; done
wait
for p in "" 1; do echo "== 120b precise=${p:-0}"; GETP_PRECISE=$p timeout 150 build-bench/bench_engine /mnt/t/m120b 256 1 64 2>&1 | grep -E "bench:|GB|batch" | cut -c1-200; done
