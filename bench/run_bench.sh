#!/bin/bash
# run_bench.sh: getp's throughput benchmarks on one GPU, run on the GPU machine
# from the repository root:
#
#   bash bench/run_bench.sh [MODE...]        (default: course)
#
#   course   2,048 short prompts (8-40 tokens), -n 1024, greedy, --ignore-eos,
#            batch from free memory (the course workload)
#   quick    1,024 of the same prompts, -n 256
#   single   2 prompts at --batch 1, -n 256 (one stream)
#   long     64 prompts of ~1,000-2,000 tokens, -n 2560
#   sampled  the paths users take: greedy, OpenAI's recommended -t 1.0 -p 1.0,
#            and -t 0.7 -k 50 -p 0.95, each at batch 1 (2 prompts), 64 (64
#            prompts) and full (the quick workload), -n 256; and greedy with
#            logprobs (top 5, JSONL input) at full batch
#            (SAMPLED_AT: the batches, default "b1 b64 full")
#   sweep    batch 1, 2, 4, ..., 256 (B prompts at --batch B, -n 256): tok/s,
#            ms per step and % of the memory-bandwidth floor
#   io1k     ISL/OSL 1024/1024 (TensorRT-LLM's published workload): COUNT prompts
#            (default 2,048) of 1,024 token ids, 1,024 generated, --ignore-eos
#   longctx  a long context at small batches (a chat over a long document): for B
#            in LONGCTX_B (default "1 8"), B prompts of CTX token ids (default
#            16,384) at --batch B, 256 generated (-n CTX + 256), --ignore-eos: the
#            attention decode's split over the context (#18), which no other mode
#            reaches (their contexts stay under ~2,600 positions)
#   mixed    requests that end at different times, as users' do: COUNT (default
#            4,096) JSONL requests of 8-256 random token ids, each with its own
#            max_tokens drawn from 16..STEPS (default 1,024), --ignore-eos; the
#            batch stays full while requests wait, then runs down through every
#            size as the last ones finish (the kernels of every batch range)
#
# Environment: MODEL (default /tmp/m20b, generated with getp-model-gen --preset
# 20b --seed 1 when missing), BUILD (default build-bench), SKIP_BUILD=1, BATCH
# (--batch for course/quick/long/io1k), COUNT / STEPS (override a mode's),
# PROFILE (default 1: GETP_PROFILE=1, per-phase GPU time from events; 0 for an
# unperturbed run), EXTRA (more getp flags, e.g. --precise), OUT (logs; default
# /tmp/run_bench), PORTABLE_BUILD (also run every case with that build, the
# portable one: its tok/s is printed beside the fast one's), HBM_GBS (the
# bandwidth the floor assumes; default 4800, the H200's).
# Needs deps/ (tools/fetch_deps.sh) and, for text prompts, data/o200k_harmony.tiktoken
# (tools/setup_tokenizer.sh data); without the rank file the prompts go in as
# --input-format ids of the same lengths.
#
# Prints per case: warm-up, inference seconds, tokens, tok/s, peak GPU memory,
# the phase split (GETP_PROFILE), achieved TFLOP/s and GB/s, ms per step, and a
# closing table of every case.
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
summary=$out/summary.txt
: >"$summary"

# make_input FILE COUNT [--long | --ids LEN]: text prompts if the tokenizer is
# here (else ids of the same lengths); --ids LEN: COUNT prompts of LEN random ids.
make_input() {
    local file=$1 count=$2 kind=${3:-} len=${4:-}
    if [ "$kind" = --ids ]; then
        python3 - "$count" "$len" >"$file.ids" <<'PY'
import random, sys
n, k = int(sys.argv[1]), int(sys.argv[2]); r = random.Random(7); print(n)
for i in range(n): print(" ".join(str(r.randrange(200000)) for _ in range(k)))
PY
        fmt=(--input-format ids); input=$file.ids; return
    fi
    python3 tools/make_prompts.py --count "$count" $kind >"$file.txt"
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

# run_case NAME COUNT STEPS BATCH KIND [getp flags...]: one getp run (BATCH empty:
# the engine's choice; KIND: "" | --long | --ids LEN), its figures, a summary line.
run_case() {
    local name=$1 count=$2 steps=$3 batch=$4 kind=$5
    shift 5
    local log=$out/$name
    case $kind in
        --ids*) make_input "/tmp/prompts_$name" "$count" --ids "${kind#--ids }" ;;
        --mixed) # JSONL: random ids, a max_tokens of each request's own
            python3 - "$count" "$steps" >"/tmp/prompts_$name.jsonl" <<'PY'
import json, random, sys
n, steps = int(sys.argv[1]), int(sys.argv[2]); r = random.Random(13)
for i in range(n):
    ids = [r.randrange(200000) for _ in range(r.randint(8, 256))]
    print(json.dumps({"id": "m%d" % i, "prompt_token_ids": ids, "max_tokens": r.randint(16, steps)}))
PY
            fmt=(--input-format jsonl); input=/tmp/prompts_$name.jsonl
            steps=$((steps + 256)) ;; # the position bound: every request reaches its max_tokens
        --logprobs*) # the same prompts as JSONL lines asking for logprobs (top N)
            make_input "/tmp/prompts_$name" "$count"
            python3 - "/tmp/prompts_$name.txt" "${kind#--logprobs }" >"/tmp/prompts_$name.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for l in lines[1:int(lines[0]) + 1]:
    print(json.dumps({"prompt": l, "logprobs": True, "top_logprobs": int(sys.argv[2])}))
PY
            fmt=(--input-format jsonl -z "$tok"); input=/tmp/prompts_$name.jsonl ;;
        *) make_input "/tmp/prompts_$name" "$count" $kind ;;
    esac
    local bflag=(); [ -n "$batch" ] && bflag=(--batch "$batch")
    local builds=("$build") b
    [ -n "${PORTABLE_BUILD:-}" ] && builds+=("$PORTABLE_BUILD")
    for b in "${builds[@]}"; do
        local tag=""; [ "$b" != "$build" ] && tag=" (portable)" && log=$out/$name.portable
        echo "== $name$tag: $count prompts ($(basename "$input")), -n $steps, batch ${batch:-auto}, $* ${EXTRA:-}"
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$log.mem" 2>/dev/null &
        local smi=$!
        GETP_PROFILE=${PROFILE:-1} timeout 900 "$b/getp" "$model" -i "$input" -o "$log.out" "${fmt[@]}" \
            -n "$steps" --ignore-eos "${bflag[@]}" "$@" ${EXTRA:-} --verbose >"$log.log" 2>"$log.err"
        local rc=$?
        kill "$smi" 2>/dev/null; wait "$smi" 2>/dev/null
        if [ $rc -ne 0 ]; then echo "getp rc=$rc"; tail -5 "$log.err"; echo "$name$tag FAILED" >>"$summary"; continue; fi
        grep -E "^(warm_up|elapsed|tokens|throughput):" "$log.log"
        grep -E "batch [0-9]+, cap" "$log.err" | head -2
        echo "peak GPU memory: $(sort -n "$log.mem" | tail -1) MiB (nvidia-smi, every 200 ms)"
        grep "^profile:" "$log.err"
        python3 bench/bench_rates.py "$log.log" "$log.err" "$input" "$steps" "$model" "${HBM_GBS:-4800}" \
            "$name$tag" | tee -a "$summary"
    done
}

for m in "${modes[@]}"; do
    case $m in
        course) run_case course "${COUNT:-2048}" "${STEPS:-1024}" "${BATCH:-}" "" ;;
        quick)  run_case quick "${COUNT:-1024}" "${STEPS:-256}" "${BATCH:-}" "" ;;
        single) run_case single "${COUNT:-2}" "${STEPS:-256}" 1 "" ;;
        long)   run_case long "${COUNT:-64}" "${STEPS:-2560}" "${BATCH:-}" --long ;;
        sampled)
            for v in "greedy:" "t1p1:-t 1.0 -p 1.0" "t07k50p95:-t 0.7 -k 50 -p 0.95"; do
                name=${v%%:*}; flags=${v#*:}
                for at in ${SAMPLED_AT:-b1 b64 full}; do
                    case $at in
                        b1) n=2; bat=1 ;;
                        b64) n=64; bat=64 ;;
                        *) n=${COUNT:-1024}; bat=${BATCH:-} ;;
                    esac
                    # shellcheck disable=SC2086
                    run_case "${at}_$name" "$n" "${STEPS:-256}" "$bat" "" $flags
                done
            done
            [ -f "$tok" ] && run_case full_greedy_lp5 "${COUNT:-1024}" "${STEPS:-256}" "${BATCH:-}" "--logprobs 5" ;;
        sweep)
            for B in ${SWEEP:-1 2 4 8 16 32 64 128 256}; do
                run_case "sweep_b$B" "$B" "${STEPS:-256}" "$B" ""
            done ;;
        io1k) run_case io1k "${COUNT:-2048}" 2048 "${BATCH:-}" "--ids 1024" ;;
        mixed) run_case mixed "${COUNT:-4096}" "${STEPS:-1024}" "${BATCH:-}" --mixed ;;
        longctx)
            for B in ${LONGCTX_B:-1 8}; do
                run_case "longctx_b$B" "$B" $(( ${CTX:-16384} + 256 )) "$B" "--ids ${CTX:-16384}"
            done ;;
        *) echo "run_bench: unknown mode $m" ;;
    esac
done
echo "== summary"
cat "$summary"
