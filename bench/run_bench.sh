#!/bin/bash
# run_bench.sh: the throughput benchmark of issue "Throughput" (one GPU, gpt-oss-20b
# shapes), run on the GPU machine from the repository root:
#
#   bash bench/run_bench.sh [MODE...]        MODE: course (default) | quick | single | long
#
#   course  2,048 short prompts (8-40 tokens), -n 1024, greedy, --ignore-eos, batch
#           chosen by the engine from free memory (the course workload)
#   quick   1,024 of the same prompts, -n 256 (the course's batch size, a quarter of
#           its steps, so shorter contexts: attention is cheaper than in course)
#   single  2 prompts at --batch 1, -n 256 (latency: tok/s of one sequence)
#   long    64 prompts of ~1,000-2,000 tokens (make_prompts.py --long), -n 2560
#
# Environment: MODEL (default /tmp/m20b, generated with getp-model-gen --preset 20b
# --seed 1 when missing, ~80 s), BUILD (default build-bench), SKIP_BUILD=1, BATCH
# (--batch for course/quick/long; default: the engine's choice), COUNT / STEPS
# (override the mode's), PROFILE (default 1: GETP_PROFILE=1, per-phase GPU time
# from events; 0 for an unperturbed run), CPU_RATIO=1 (also time the CPU engine on
# 8 prompts x -n 48 and print the ratio), EXTRA (more getp flags, e.g. --precise), OUT
# (logs; default /tmp/run_bench).
# Needs deps/ (tools/fetch_deps.sh) and data/o200k_harmony.tiktoken
# (tools/setup_tokenizer.sh data) carried along; without the rank file the prompts go
# in as --input-format ids (deterministic pseudo-random ids of the same lengths).
#
# Prints per mode: warm-up s, inference s, tokens, tok/s, peak GPU memory (nvidia-smi
# sampled every 200 ms), the engine's phase split (GETP_PROFILE), achieved TFLOP/s
# (7.22 GFLOP/token of weights + attention at the mean context) and GB/s (weights
# streamed once per step, experts counted as the expected share touched, + KV read).
set -u
root=$(pwd)
out=${OUT:-/tmp/run_bench}
build=${BUILD:-build-bench}
model=${MODEL:-/tmp/m20b}
deps=$root/deps
mkdir -p "$out"
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
modes=("$@")
[ ${#modes[@]} -eq 0 ] && modes=(course)

nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,clocks.max.sm --format=csv,noheader
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    t0=$(date +%s)
    cmake -S . -B "$build" -G Ninja -DGETP_GPU=cuda -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$deps/usr" >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; exit 1; }
    ninja -C "$build" getp getp-model-gen >"$out/build.log" 2>&1 ||
        { grep -E "error|FAILED" "$out/build.log" | head -30; exit 1; }
    echo "run_bench: build $(( $(date +%s) - t0 )) s"
fi
if [ ! -f "$model/model.safetensors" ] && [ ! -f "$model" ]; then
    t0=$(date +%s)
    "$build/getp-model-gen" --preset 20b --seed 1 --out "$model" >"$out/gen.log" 2>&1 ||
        { tail -5 "$out/gen.log"; exit 1; }
    echo "run_bench: model generated in $(( $(date +%s) - t0 )) s"
fi
tok=$root/data/o200k_harmony.tiktoken

# prompts FILE COUNT [--long]: text prompts if the tokenizer is here, else ids.
make_input() {
    local file=$1 count=$2 long=${3:-}
    python3 tools/make_prompts.py --count "$count" $long >"$file.txt"
    if [ -f "$tok" ]; then
        fmt=(--input-format text -z "$tok"); input=$file.txt
    else
        python3 - "$file.txt" >"$file.ids" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
n = int(lines[0]); print(n)
for i, l in enumerate(lines[1:n + 1]):
    k = max(1, round(len(l.split()) * 1.3))
    print(" ".join(str((i * 7919 + j * 104729) % 200000) for j in range(k)))
PY
        fmt=(--input-format ids); input=$file.ids
    fi
}

run_mode() {
    local mode=$1 count steps batch long=""
    case $mode in
        course) count=2048; steps=1024; batch=${BATCH:-} ;;
        quick)  count=1024; steps=256;  batch=${BATCH:-} ;;
        single) count=2;    steps=256;  batch=1 ;;
        long)   count=64;   steps=2560; batch=${BATCH:-}; long=--long ;;
        *) echo "run_bench: unknown mode $mode"; return 1 ;;
    esac
    count=${COUNT:-$count}; steps=${STEPS:-$steps}
    local log=$out/$mode
    make_input "/tmp/prompts_$mode" "$count" $long
    local bflag=(); [ -n "$batch" ] && bflag=(--batch "$batch")
    echo "== $mode: $count prompts ($(basename "$input")), -n $steps, batch ${batch:-auto}, greedy," \
         "--ignore-eos ${EXTRA:-}, GETP_PROFILE=${PROFILE:-1}"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log.mem" 2>/dev/null &
    local smi=$!
    GETP_PROFILE=${PROFILE:-1} timeout 900 "$build/getp" "$model" -i "$input" -o "$log.out" "${fmt[@]}" \
        -n "$steps" --ignore-eos "${bflag[@]}" ${EXTRA:-} --verbose >"$log.log" 2>"$log.err"
    local rc=$?
    kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
    if [ $rc -ne 0 ]; then echo "getp rc=$rc"; tail -5 "$log.err"; return 1; fi
    grep -E "^(warm_up|elapsed|tokens|throughput):" "$log.log"
    grep -E "batch [0-9]+, cap" "$log.err" | head -2
    local peak
    peak=$(sort -n "$log.mem" | tail -1)
    echo "peak GPU memory: ${peak:-?} MiB (nvidia-smi, every 200 ms)"
    grep "^profile:" "$log.err"
    # achieved rates from the model shape (SPEC 1) and the measured tokens / steps
    python3 - "$log.log" "$log.err" "/tmp/prompts_$mode.txt" "$steps" "$model" <<'PY'
import json, os, re, sys
log, err = open(sys.argv[1]).read(), open(sys.argv[2]).read()
steps_n = int(sys.argv[4])
get = lambda k, s: float(re.search(r"^%s:\s*([0-9.]+)" % k, s, re.M).group(1))
tokens, secs = get("tokens", log), get("elapsed", log)
m = re.search(r"batch (\d+), cap", err); B = int(m.group(1)) if m else 0
m = re.search(r"^profile: (\d+) steps", err, re.M); nsteps = int(m.group(1)) if m else 0
L, H, V, E, I, Dq, Dkv = 24, 2880, 201088, 32, 2880, 4096, 512  # 20b, unless the model says otherwise
cfg_path = os.path.join(sys.argv[5], "config.json")
if os.path.isfile(cfg_path):
    c = json.load(open(cfg_path))
    L, H, V, E, I = c["num_hidden_layers"], c["hidden_size"], c["vocab_size"], c["num_experts"], c["intermediate_size"]
    Dq, Dkv = c.get("head_dim", 64) * c["num_attention_heads"], c.get("head_dim", 64) * c["num_key_value_heads"]
lines = open(sys.argv[3], encoding="utf-8").read().split("\n")[1:]
n_prompt = sum(len(l.split()) for l in lines if l) * 1.3 / max(1, sum(1 for l in lines if l))
dense = L * 2 * (H * (Dq + 2 * Dkv) + H * Dq + E * H) + 2 * V * H
moe = L * 4 * 2 * (2 * I * H + H * I)
ctx = (n_prompt + steps_n) / 2                      # mean position while decoding
attn = L / 2 * 4 * 64 * 64 * (ctx + min(ctx, 128))  # QK and PV, full + sliding layers
flop = tokens * (dense + moe + attn)
print("achieved: %.1f TFLOP/s (%.2f GFLOP/token: dense+head %.2f, moe %.2f, attention %.2f at mean "
      "context %.0f)" % (flop / secs / 1e12, (dense + moe + attn) / 1e9, dense / 1e9, moe / 1e9,
                         attn / 1e9, ctx))
if nsteps and B:
    touched = E * (1 - (1 - 4 / E) ** B)           # experts a step touches per layer (random routing)
    wbytes = (L * 2 * (H * (Dq + 2 * Dkv) + H * Dq + E * H) + 2 * V * H
              + L * touched * (2 * I * H + H * I) * 17 / 32)
    kv = tokens * L / 2 * 2 * Dkv * 2 * (ctx + min(ctx, 128))
    print("achieved: %.0f GB/s (%d steps x %.2f GB of weights (%.1f experts/layer) + %.1f GB KV reads)"
          % ((nsteps * wbytes + kv) / secs / 1e9, nsteps, wbytes / 1e9, touched, kv / 1e9))
    print("mean step: %.2f ms at batch %d (%.0f tokens/step)" % (1e3 * secs / nsteps, B, tokens / nsteps))
PY
}

for m in "${modes[@]}"; do run_mode "$m"; done

if [ "${CPU_RATIO:-0}" = 1 ]; then
    make_input /tmp/prompts_cpu 8
    gpu=$(GETP_PROFILE=0 "$build/getp" "$model" -i "$input" -o /tmp/cpu_ref_gpu.out "${fmt[@]}" -n 48 \
          --ignore-eos --batch 8 | sed -n 's/^throughput: //p')
    cpu=$("$build/getp" "$model" -i "$input" -o /tmp/cpu_ref.out "${fmt[@]}" -n 48 --ignore-eos \
          --backend cpu | sed -n 's/^throughput: //p')
    echo "cpu ratio (8 prompts, -n 48): gpu $gpu, cpu $cpu"
    cmp -s /tmp/cpu_ref.out /tmp/cpu_ref_gpu.out && echo "cpu and gpu outputs identical" ||
        echo "cpu and gpu outputs differ"
fi
