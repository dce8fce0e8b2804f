#!/usr/bin/env bash
# device_checks.sh: the GPU machine checks that are not kernel tests, in one call:
#   1. getp --selftest (every GPU op against the CPU reference, as a user runs it)
#   2. MPI on the GPU: -np 1 vs -np 4 --share-gpu (greedy) and -np 3 (sampled),
#      byte-identical outputs; GPU vs CPU engine on the same requests
#   3. bench/scaling.sh with R ranks sharing the GPU (a 20b-shaped model cut to
#      2 layers so 8 copies fit), weak and strong
#   4. GPU / CPU engine speed ratio on that model
# Run from the repository root with deps/ carried: bash bench/device_checks.sh
# Logs under $OUT (or /tmp/device_checks).
set -u
out=${OUT:-/tmp/device_checks}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export LD_LIBRARY_PATH=$PWD/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
b=build-dev
cmake -S . -B $b -G Ninja -DGETP_GPU=cuda -DCMAKE_PREFIX_PATH=$PWD/deps/usr > "$out/cmake.log" 2>&1 || { tail -20 "$out/cmake.log"; exit 1; }
ninja -C $b getp getp-model-gen > "$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head; exit 1; }

echo "== 1. getp --selftest"
$b/getp --selftest 2>&1 | tee "$out/selftest.log" | tail -60

echo "== 2. MPI on the GPU"
$b/getp-model-gen --preset tiny --seed 7 --out /tmp/tiny > /dev/null
python3 - > /tmp/tiny.ids <<'PY'
import random
r = random.Random(5); n = 48
print(n)
for i in range(n): print(" ".join(str(r.randrange(1024)) for _ in range(r.randint(1, 60))))
PY
run() { mpirun --oversubscribe -np "$1" $b/getp /tmp/tiny --input-format ids -i /tmp/tiny.ids -n 96 "${@:2}" > "$out/mpi_$1_$$.log" 2>&1 || tail -5 "$out/mpi_$1_$$.log"; }
run 1 -o /tmp/g1.out && run 4 --share-gpu -o /tmp/g4.out && run 2 -o /tmp/g2x.out
cmp -s /tmp/g1.out /tmp/g4.out && echo "PASS greedy: -np 4 --share-gpu == -np 1" || echo "FAIL greedy: -np 4 differs"
grep -q "visible GPU" "$out"/mpi_2_*.log && echo "PASS 2 ranks on 1 GPU without --share-gpu refused" || echo "FAIL no refusal without --share-gpu"
run 1 -t 0.8 -p 0.9 -s 11 -o /tmp/s1.out && run 3 --share-gpu -t 0.8 -p 0.9 -s 11 -o /tmp/s3.out
cmp -s /tmp/s1.out /tmp/s3.out && echo "PASS sampled: -np 3 --share-gpu == -np 1" || echo "FAIL sampled: -np 3 differs"
run 1 --backend cpu -o /tmp/c1.out
awk 'NR==FNR {a[NR]=$0; next} {n++; if (a[FNR] == $0) same++} END {printf "GPU vs CPU engine, greedy: %d of %d requests identical\n", same, n}' /tmp/c1.out /tmp/g1.out

echo "== 3. scaling, ranks sharing one GPU (distribution path; not a speed claim)"
$b/getp-model-gen --preset 20b --layers 2 --seed 1 --out /tmp/m20b2 > /dev/null
MODEL=/tmp/m20b2 GETP=$b/getp SHARE_GPU=1 EXTRA="--batch 256" RANKS="1 2 4 8" PER_RANK=128 TOTAL=512 NEW=128 \
  OUTDIR="$out/scaling" bash bench/scaling.sh 2>&1 | tail -40

echo "== 4. GPU vs CPU engine speed on the 20b-shaped 2-layer model (4 prompts x 24 new ids)"
python3 - > /tmp/r.ids <<'PY'
print(4)
for i in range(4): print(" ".join(str((i * 7919 + j * 104729) % 200000) for j in range(16)))
PY
for be in gpu cpu; do
  $b/getp /tmp/m20b2 --backend $be --input-format ids -i /tmp/r.ids -o /tmp/r_$be.out -n 39 --ignore-eos > "$out/ratio_$be.log" 2>&1
  echo "$be: $(grep -E '^throughput' "$out/ratio_$be.log")"
done
cmp -s /tmp/r_gpu.out /tmp/r_cpu.out && echo "gpu and cpu outputs identical" || echo "gpu and cpu outputs differ (bf16 vs fp32; see e2e agreement)"
