#!/bin/bash
# precise_call.sh: one device call for precise mode (GpuOptions.precise, getp --precise):
# build (cmake, 90a), test_gpu_ops (the selftest: precise op cases against fp32), test_gemm,
# test_gpu_e2e (precise logits vs the fp32 CPU engine, batch invariance in both modes),
# the CLI with --precise at -np 1 vs -np 2 --share-gpu, then run_bench MODES (default
# quick) on the 20b shape in the fast and the precise mode. Logs to /tmp/precise, a
# tarball to $OUT.
set -u
res=${OUT:-/tmp}; out=/tmp/precise; mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader
b=build-bench
cmake -S . -B $b -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr >"$out/cmake.log" 2>&1 || { tail "$out/cmake.log"; exit 1; }
ninja -C $b getp-model-gen >"$out/build.log" 2>&1 || { tail "$out/build.log"; exit 1; }
[ -f /tmp/m20b/model.safetensors ] || $b/getp-model-gen --preset 20b --seed 1 --out /tmp/m20b >"$out/gen.log" 2>&1 &
ninja -C $b getp test_gpu_ops test_gpu_e2e test_gemm >>"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }
echo "build: $(( $(date +%s) - t0 )) s"
timeout 120 $b/test_gpu_ops >"$out/ops.log" 2>&1
echo "test_gpu_ops rc=$? $(tail -1 "$out/ops.log")"; grep -E "FAIL|hi\+lo" "$out/ops.log" | head -20
timeout 120 $b/test_gemm >"$out/gemm.log" 2>&1
echo "test_gemm rc=$? $(tail -1 "$out/gemm.log")"; grep FAIL "$out/gemm.log" | head -8
timeout 400 $b/test_gpu_e2e $b/getp-model-gen /tmp/getp_e2e >"$out/e2e.log" 2>&1
echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e.log")"
grep -E "FAIL|logits, |  (gpu|cpu)|identical|divergence" "$out/e2e.log" | head -40
echo "######## CLI --precise, MPI ($(( $(date +%s) - t0 )) s)"
$b/getp-model-gen --preset tiny --seed 7 --out /tmp/tiny >/dev/null
python3 -c "
import random
r = random.Random(5); print(24)
for i in range(24): print(' '.join(str(r.randrange(1024)) for _ in range(r.randint(1, 60))))" >/tmp/tiny.ids
for np in 1 2; do
    mpirun --oversubscribe -np $np $b/getp /tmp/tiny --input-format ids -i /tmp/tiny.ids -n 96 --precise \
        --share-gpu -o /tmp/p$np.out >"$out/cli_$np.log" 2>&1 || tail -3 "$out/cli_$np.log"
done
cmp -s /tmp/p1.out /tmp/p2.out && echo "PASS --precise: -np 2 --share-gpu == -np 1" || echo "FAIL --precise: -np 2 differs"
wait
for m in ${MODES:-quick}; do
    echo "######## $m, fast ($(( $(date +%s) - t0 )) s)"
    OUT=$out/fast SKIP_BUILD=1 bash bench/run_bench.sh $m | grep -E "throughput|warm_up|profile|peak|batch"
    echo "######## $m, --precise ($(( $(date +%s) - t0 )) s)"
    EXTRA=--precise OUT=$out/precise SKIP_BUILD=1 bash bench/run_bench.sh $m | grep -E "throughput|warm_up|profile|peak|batch"
    awk 'NR==FNR {a[NR]=$0; next} {n++; if (a[FNR] == $0) same++} END {printf "fast vs precise outputs: %d of %d lines identical\n", same, n}' \
        "$out/fast/$m.out" "$out/precise/$m.out"
done
echo "total: $(( $(date +%s) - t0 )) s"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/precise_logs.tgz" -C "$out" . 2>/dev/null
