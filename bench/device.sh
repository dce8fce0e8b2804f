#!/bin/bash
# device.sh: the one script for a call on the GPU machine (docs/CONTRIBUTING.md):
# build, test and time in one go, the steps given as arguments and run in order.
#
#   bash bench/device.sh STEP...        (from the repository root, deps/ carried)
#
#   build:NAME:SRC[:FLAGS]   cmake + ninja the tree SRC ("." = this one; another
#                            carried folder holds a baseline) into /tmp/b-NAME, in
#                            the background; FLAGS: extra cmake flags, commas for
#                            spaces (-DGETP_PORTABLE=ON). Later steps wait for it.
#   alias:NEW:OLD            build OLD under a second name once built (its bench outputs
#                            apart), so an environment A/B of one binary can be compared
#                            byte for byte by `same`
#   model:PRESET[:LAYERS]    getp-model-gen --preset PRESET (20b, 120b) into
#                            /tmp/mPRESET[LAYERS] (120b: /mnt/t, a tmpfs), in the background
#   tests:NAME[:ENV]         the GPU tests of build NAME: test_gpu_ops (the
#                            selftest), test_gemm, test_gpu_e2e (ENV as for bench:
#                            an environment switch, e.g. GETP_KSPLIT=1, A/B in one call)
#   selftest:NAME[:ENV]      getp --selftest of build NAME (what users run)
#   bench:NAME:MODES[:ENV]   bench/run_bench.sh MODES (commas) with build NAME on
#                            /tmp/m20b (ENV: VAR=value pairs, commas, e.g.
#                            MODEL=/tmp/m120b,COUNT=512; a list inside a value takes
#                            another separator: BENCH_M=1024/2048)
#   cli:NAME                 getp jobs on /tmp/m20b as users run them: course text,
#                            JSONL and Batch files, greedy and sampled (32 prompts, -n 128)
#   same:A:B:MODE            byte comparison of the outputs of MODE run by the
#                            bench steps of builds A and B (MODE cli: of the cli steps)
#   mpi:NAME[:ENV]           invariance on the GPU: -np 1 vs -np 3 --share-gpu and
#                            --batch 1 vs 64, greedy, -t 1.0 -p 0.9 -k 50 and -t 1.0
#   playground:KERNEL        the kernel playground bench/kernels/bench_KERNEL.cu
#   ncu:KERNEL:NAME[:ENV]    Nsight Compute on that playground (ENV as for bench, e.g.
#                            BENCH_M=2048,BENCH_V=7): the 2nd launch of kernels whose name
#                            contains NAME, clocks left alone (--clock-control none, METHOD.md);
#                            throughput, warp states, memory, instruction counts (run 75's
#                            instructions a warp and k-step); full report under $OUT
#   ncusrc:KERNEL:NAME[:ENV] Nsight Compute's warp-stall samples instruction by instruction
#                            (SourceCounters, the source page as CSV under $OUT) for the 2nd
#                            launch of NAME, and the 30 SASS lines with the most samples with
#                            their top stall reasons (playgrounds build with -lineinfo; the
#                            report comes back too, for the GUI's source view)
#   sass:KERNEL:NAME         the SASS of that playground's kernels whose mangled name contains
#                            NAME (cuobjdump) under $OUT, and each one's opcode counts
#   ncustep:NAME[:ENV]       Nsight Compute over whole decode steps of build NAME's engine
#                            (bench_engine on MODEL, default /tmp/m20b, at BATCH, default 1;
#                            launch by launch, GETP_NO_GRAPH=1): COUNT kernels (default 440,
#                            two 20b steps) after the first SKIP (default 3,000: warm-up,
#                            prefill, the first decode steps); a per-kernel summary (duration,
#                            DRAM and SM throughput, occupancy, warp stalls) for #18
#   scaling:NAME[:ENV]       bench/scaling.sh with build NAME (ENV as for bench)
#   batchinv:NAME[:ENV]      greedy outputs of 2,048 prompts at --batch 2048 vs 8 of them at
#                            --batch 1 on /tmp/m20b (issue #18's batch invariance)
# (the test steps' logs carry the step's number, so two of one build with other ENV keep both)
#
# Logs go to /tmp/device (bench steps: bench_NAME.MODES.STEP.log, STEP its place in the list);
# a tarball of them (outputs left out) goes to $OUT. Each step prints its elapsed time.
set -u
root=$(pwd)
out=/tmp/device
res=${OUT:-/tmp}
mkdir -p "$out"
# deps/ (tools/fetch_deps.sh): this tree's, else its parent's (device.sh run from a
# carried baseline tree inside the checkout, e.g. `cd build-basesrc && bash bench/device.sh`)
deps=$root/deps
[ -d "$deps/usr" ] || deps=$(dirname "$root")/deps
export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,driver_version --format=csv,noheader
declare -A pid_of

# wait_for KEY: a background step (build:NAME, model:PRESET) has finished.
wait_for() {
    local p=${pid_of[$1]:-}
    [ -n "$p" ] || return 0
    wait "$p" || echo "device: $1 failed (see $out)"
    unset "pid_of[$1]"
}

build_tree() { # NAME SRC FLAGS
    local name=$1 src=$2 flags=${3//,/ } b=/tmp/b-$1
    # shellcheck disable=SC2086
    (cd "$src" && cmake -S . -B "$b" -G Ninja -DGETP_GPU=cuda -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$deps/usr" $flags >"$out/build_$name.cmake.log" 2>&1 &&
        ninja -C "$b" >"$out/build_$name.log" 2>&1) ||
        { echo "BUILD $name FAILED"; grep -E "error|FAILED" "$out/build_$name".*log "$out/build_$name.log" | head -20; return 1; }
    echo "build $name done ($(el))"
}

declare -A playground_built
build_playground() { # KERNEL: bench/kernels/bench_KERNEL.cu -> /tmp/bench_KERNEL (once a call)
    [ -n "${playground_built[$1]:-}" ] && return 0
    playground_built[$1]=1
    gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o &&
        timeout 300 nvcc -gencode=arch=compute_90a,code=sm_90a -O2 -Igpu -Igpu/kernels -Igpu/port -Isrc \
            -DGETP_WGMMA=1 -lineinfo -x cu "bench/kernels/bench_$1.cu" -Xlinker /tmp/pcommon.o -o "/tmp/bench_$1" \
            >"$out/playground_$1.build.log" 2>&1 ||
        { tail -5 "$out/playground_$1.build.log"; unset "playground_built[$1]"; return 1; }
}

run_env() { # "A=1,B=2" -> exported in a subshell by the caller
    local kv
    IFS=, read -ra kv <<<"${1:-}"
    for e in "${kv[@]}"; do [ -n "$e" ] && export "${e?}"; done
}

k=0 # step number: two bench steps of one build and mode keep both logs
for step in "$@"; do
    k=$((k + 1))
    IFS=: read -r kind a b c d <<<"$step"
    echo "######## $step ($(el))"
    case $kind in
    build)
        build_tree "$a" "$b" "${c:-}" &
        pid_of[build:$a]=$! ;;
    model)
        first=$(ls -d /tmp/b-* 2>/dev/null | head -1)
        for key in "${!pid_of[@]}"; do [[ $key == build:* ]] && { wait_for "$key"; first=/tmp/b-${key#build:}; break; }; done
        layers=${b:+--layers $b}
        dir=/tmp
        if [ "$a" = 120b ]; then # 65 GB: a tmpfs (the disk is 64 GB)
            dir=/mnt/t; mkdir -p $dir; mountpoint -q $dir || mount -t tmpfs -o size=80g tmpfs $dir
        fi
        # shellcheck disable=SC2086
        ( [ -f "$dir/m$a$b/config.json" ] || "$first/getp-model-gen" --preset "$a" $layers --seed 1 \
            --out "$dir/m$a$b" >"$out/model_$a$b.log" 2>&1; echo "model $a$b ready in $dir ($(el))" ) &
        pid_of[model:$a]=$! ;;
    tests)
        wait_for "build:$a"
        ( run_env "${b:-}"; g=/tmp/b-$a
          timeout 300 "$g/test_gpu_ops" >"$out/ops_$a.$k.log" 2>&1
          echo "test_gpu_ops rc=$? $(tail -1 "$out/ops_$a.$k.log")"; grep -E "FAIL" "$out/ops_$a.$k.log" | head -20
          timeout 200 "$g/test_gemm" >"$out/gemm_$a.$k.log" 2>&1
          echo "test_gemm rc=$? $(tail -1 "$out/gemm_$a.$k.log")"; grep FAIL "$out/gemm_$a.$k.log" | head -8
          timeout 400 "$g/test_gpu_e2e" "$g/getp-model-gen" "/tmp/e2e_$a.$k" >"$out/e2e_$a.$k.log" 2>&1
          echo "test_gpu_e2e rc=$? $(tail -1 "$out/e2e_$a.$k.log")"
          grep -E "FAIL|identical|top-1" "$out/e2e_$a.$k.log" | head -12 ) ;;
    selftest)
        wait_for "build:$a"
        ( run_env "${b:-}"; timeout 300 "/tmp/b-$a/getp" --selftest >"$out/selftest_$a.$k.log" 2>&1
          echo "getp --selftest rc=$?"; head -1 "$out/selftest_$a.$k.log"
          grep -E "FAIL|passed" "$out/selftest_$a.$k.log" | head -20 ) ;;
    alias)
        wait_for "build:$b"
        ln -sfn "/tmp/b-$b" "/tmp/b-$a" ;;
    bench)
        wait_for "build:$a"
        for key in "${!pid_of[@]}"; do [[ $key == model:* ]] && wait_for "$key"; done
        ( run_env "${c:-}"; OUT=$out/bench_$a BUILD=/tmp/b-$a SKIP_BUILD=1 bash bench/run_bench.sh ${b//,/ } \
            >"$out/bench_$a.$b.$k.log" 2>&1 )
        sed -n '/^== summary/,$p' "$out/bench_$a.$b.$k.log" ;;
    cli)
        wait_for "build:$a"
        for key in "${!pid_of[@]}"; do [[ $key == model:* ]] && wait_for "$key"; done
        d=$out/cli_$a; mkdir -p "$d"; g=/tmp/b-$a/getp; z=(-z data/o200k_harmony.tiktoken)
        python3 tools/make_prompts.py --count 32 --seed 3 >/tmp/cli_course.txt
        python3 - >/tmp/cli.jsonl <<'PY'
import json, random
r = random.Random(11)
for i in range(48):
    line = {"id": "q%d" % i, "max_tokens": r.randint(8, 96)}
    if i % 3 == 0: line["messages"] = [{"role": "user", "content": "Question %d: what is %d + %d?" % (i, i, 2 * i)}]
    elif i % 3 == 1: line["prompt"] = "Write about item %d." % i
    else: line["prompt_token_ids"] = [r.randrange(200000) for _ in range(r.randint(1, 40))]
    if i % 2: line.update(temperature=1.0, top_p=1.0, seed=i)
    print(json.dumps(line))
PY
        sed -n '1,8p' /tmp/cli.jsonl | python3 -c "
import json, sys
for i, l in enumerate(sys.stdin):
    d = json.loads(l); d.pop('prompt_token_ids', None); d.setdefault('prompt', 'Hello %d' % i)
    print(json.dumps({'custom_id': 'r%d' % i, 'method': 'POST', 'url': '/v1/completions', 'body': d}))" >/tmp/cli.batch.jsonl
        for job in "course_greedy:/tmp/cli_course.txt:" "course_t1p1:/tmp/cli_course.txt:-t 1.0 -p 1.0 -s 3" \
                   "jsonl:/tmp/cli.jsonl:" "batch:/tmp/cli.batch.jsonl:"; do
            IFS=: read -r jn ji jf <<<"$job"
            # shellcheck disable=SC2086
            timeout 300 "$g" /tmp/m20b -i "$ji" -o "$d/$jn.out" "${z[@]}" -n 128 $jf >"$d/$jn.log" 2>&1 ||
                { echo "cli $jn failed"; tail -3 "$d/$jn.log"; }
            grep -E "^throughput" "$d/$jn.log" | sed "s/^/cli $a $jn: /"
        done
        sed -i 's/"created":[0-9]*//' "$d"/*.out ;;
    same)
        if [ "$c" = cli ]; then
            for f in "$out/cli_$a"/*.out; do
                g=$out/cli_$b/$(basename "$f")
                if cmp -s "$f" "$g"; then echo "SAME cli $(basename "$f") ($a, $b)"
                else echo "DIFFER cli $(basename "$f") ($a vs $b): $(cmp "$f" "$g" 2>&1 | head -1)"; fi
            done
            continue
        fi
        # the mode's outputs: run_bench names them after the mode, except sampled's
        # (AT_setting: b1_greedy, full_t1p1, ...)
        d=$out/bench_$a; outs=("$d/$c"*.out)
        [ "$c" = sampled ] && outs=("$d/"*_greedy*.out "$d/"*_t1p1.out "$d/"*_t07k50p95.out)
        n=0
        for f in "${outs[@]}"; do
            [ -f "$f" ] || continue
            n=$((n + 1)); g=$out/bench_$b/$(basename "$f")
            if cmp -s "$f" "$g"; then echo "SAME $c: $(basename "$f") identical ($a, $b)"
            else echo "DIFFER $c: $(basename "$f") ($a vs $b): $(cmp "$f" "$g" 2>&1 | head -1)"; fi
        done
        # never a silent pass: nothing compared is a failure to look at
        [ "$n" -gt 0 ] || echo "DIFFER $c: no outputs of $c under bench_$a to compare" ;;
    mpi)
        wait_for "build:$a"
        ( run_env "${b:-}"
        g=/tmp/b-$a/getp
        "/tmp/b-$a/getp-model-gen" --preset tiny --vocab 201088 --seed 7 --out /tmp/tiny_inv >/dev/null 2>&1
        python3 -c "
import random
r = random.Random(5); n = 96; print(n)
for i in range(n): print(' '.join(str(r.randrange(200000)) for _ in range(r.randint(1, 60))))" >/tmp/inv.ids
        # greedy, filtered sampling, and T 1 with no filter (OpenAI's recommended setting:
        # the sampler's chunk-mass path at batch 1, one block a row at 64)
        for v in "greedy:" "sampled:-t 1.0 -p 0.9 -k 50 -s 11" "plain:-t 1.0 -s 13"; do
            tag=${v%%:*}; flags=${v#*:}
            # shellcheck disable=SC2086
            { mpirun --oversubscribe -np 1 "$g" /tmp/tiny_inv --input-format ids -i /tmp/inv.ids -n 96 $flags -o "/tmp/inv_np1_$tag" &&
              mpirun --oversubscribe -np 3 "$g" /tmp/tiny_inv --input-format ids -i /tmp/inv.ids -n 96 $flags --share-gpu -o "/tmp/inv_np3_$tag" &&
              "$g" /tmp/tiny_inv --input-format ids -i /tmp/inv.ids -n 96 $flags --batch 1 -o "/tmp/inv_b1_$tag" &&
              "$g" /tmp/tiny_inv --input-format ids -i /tmp/inv.ids -n 96 $flags --batch 64 -o "/tmp/inv_b64_$tag"; } \
                >"$out/mpi_$tag.$k.log" 2>&1 || { echo "mpi $tag: a run failed"; tail -5 "$out/mpi_$tag.$k.log"; }
            cmp -s "/tmp/inv_np1_$tag" "/tmp/inv_np3_$tag" && echo "PASS $tag: -np 3 --share-gpu == -np 1" || echo "FAIL $tag: -np 3 differs"
            cmp -s "/tmp/inv_b1_$tag" "/tmp/inv_b64_$tag" && echo "PASS $tag: --batch 1 == --batch 64" || echo "FAIL $tag: --batch 1 differs from 64"
            cmp -s "/tmp/inv_np1_$tag" "/tmp/inv_b64_$tag" && echo "PASS $tag: --batch 64 == default batch" || echo "FAIL $tag: --batch 64 differs from the default"
        done ) ;;
    playground)
        build_playground "$a" || continue
        ( run_env "${b:-}"; timeout 300 "/tmp/bench_$a" ) >"$out/playground_$a.log" 2>&1
        echo "rc=$?"; grep -E "VALID|BITS|^[a-z]" "$out/playground_$a.log" | head -60 ;;
    ncustep)
        wait_for "build:$a"
        for key in "${!pid_of[@]}"; do [[ $key == model:* ]] && wait_for "$key"; done
        ncustep_run() {
            ( run_env "${b:-}"; export GETP_NO_GRAPH=1
              timeout 540 ncu --clock-control none --launch-skip "${SKIP:-3000}" --launch-count "${COUNT:-440}" \
                  --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
                  "$@" "/tmp/b-$a/bench_engine" "${MODEL:-/tmp/m20b}" 40 "${BATCH:-1}" ) \
                >"$out/ncustep_$a.$k.log" 2>&1
        }
        # without the per-kernel summary if this ncu refuses the option (it says so at once)
        ncustep_run --print-summary per-kernel ||
            { head -5 "$out/ncustep_$a.$k.log" | grep -qi "option" && ncustep_run; }
        echo "ncustep rc=$?"; cp "$out/ncustep_$a.$k.log" "$res/" 2>/dev/null
        grep -E "^  [A-Za-z_].*\(|Duration|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|==PROF==|==ERROR==" \
            "$out/ncustep_$a.$k.log" | head -120 ;;
    sass)
        build_playground "$a" || continue
        cuobjdump -sass "/tmp/bench_$a" >"$out/sass_$a.txt" 2>&1 || { echo "cuobjdump failed"; continue; }
        awk -v pat="$b" '/Function :/ { keep = index($0, pat) > 0 } keep' "$out/sass_$a.txt" >"$res/sass_${a}_$b.txt"
        awk '/Function :/ { if (fn) for (o in n) print fn, n[o], o; fn = $3; delete n }
             /\/\*[0-9a-f]+\*\// { op = $2; if (op ~ /^@/) op = $3; sub(/\..*/, "", op); sub(/;$/, "", op); n[op]++ }
             END { if (fn) for (o in n) print fn, n[o], o }' "$res/sass_${a}_$b.txt" |
            sort -k1,1 -k2,2nr | awk '{ if ($1 != f) { f = $1; c = 0; print "== " f } if (c++ < 14) printf "  %6d %s\n", $2, $3 }' \
            >"$res/sass_counts_${a}_$b.txt"
        head -80 "$res/sass_counts_${a}_$b.txt"
        gzip -f "$res/sass_${a}_$b.txt" ;; # every kernel's counts and the SASS itself come back under $OUT
    ncusrc)
        build_playground "$a" || continue
        rep=/tmp/ncusrc_${a}_$b
        ( run_env "${c:-}"
          timeout 300 ncu --clock-control none -k "regex:$b" --launch-skip 1 --launch-count 1 \
              --section SourceCounters --import-source yes -f -o "$rep" "/tmp/bench_$a" ) >"$out/ncusrc_${a}_$b.log" 2>&1
        echo "ncu rc=$?"
        { ncu -i "$rep.ncu-rep" --page source --csv --print-source sass ||
          ncu -i "$rep.ncu-rep" --page source --csv; } >"$res/ncusrc_${a}_$b.csv" 2>>"$out/ncusrc_${a}_$b.log" ||
            { echo "source page failed:"; tail -5 "$out/ncusrc_${a}_$b.log"; continue; }
        cp "$rep.ncu-rep" "$res/" 2>/dev/null
        python3 - "$res/ncusrc_${a}_$b.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], errors="replace")))
hdr = next((i for i, r in enumerate(rows) if any("Warp Stall Sampling (All" in c for c in r)), None)
if hdr is None:
    print("no stall-sampling column; header:", rows[:2]); sys.exit(0)
h = rows[hdr]; body = [r for r in rows[hdr + 1:] if len(r) == len(h)]
col = lambda name: next((i for i, c in enumerate(h) if name in c), None)
tot, src = col("Warp Stall Sampling (All"), col("Source")
reasons = [i for i, c in enumerate(h) if c.startswith("stall_") and "Not Issued" not in c] or \
          [i for i, c in enumerate(h) if "stall" in c.lower() and i != tot]
num = lambda v: float(v.replace(",", "") or 0) if v.replace(",", "").replace(".", "").isdigit() else 0.0
all_s = sum(num(r[tot]) for r in body) or 1.0
print("columns:", [h[i] for i in (tot, src) if i is not None], "samples:", int(all_s))
for r in sorted(body, key=lambda r: -num(r[tot]))[:30]:
    top = sorted(((num(r[i]), h[i]) for i in reasons), reverse=True)[:3]
    print("%5.1f%%  %-60s %s" % (100 * num(r[tot]) / all_s, (r[src] if src is not None else "")[:60],
          ", ".join("%s %d" % (n, v) for v, n in top if v)))
for name in ("L1 Wavefronts Shared Excessive", "L2 Theoretical Sectors Global Excessive"):
    i = col(name)
    if i is None: continue
    print("==", name)
    for r in sorted(body, key=lambda r: -num(r[i]))[:8]:
        if num(r[i]): print("  %12d  %s" % (num(r[i]), (r[src] if src is not None else "")[:70]))
PY
        ;;
    ncu)
        build_playground "$a" || continue
        # --print-details all: the sections' charts too (the warp-state stall reasons, which
        # run 54's text output left out); without it if this ncu does not take the option
        ncu_run() {
            timeout 300 ncu --clock-control none -k "regex:$b" --launch-skip 1 --launch-count 1 \
                --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
                --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats \
                --section InstructionStats --section SourceCounters "$@" "/tmp/bench_$a"
        }
        ( run_env "${c:-}"; ncu_run --print-details all || ncu_run ) >"$out/ncu_${a}_$b.log" 2>&1
        echo "ncu rc=$?"; cp "$out/ncu_${a}_$b.log" "$res/" 2>/dev/null
        grep -E "Duration|Throughput|Busy|Eligible|Issued Warp|Active Warps|Stall|No Eligible|Achieved Occupancy|Registers|Shared Memory Config|==PROF==|==ERROR==" \
            "$out/ncu_${a}_$b.log" | head -50 ;;
    batchinv)
        # #18: a batch of 2,048 against batch 1 on the 20b shape (greedy: a sampled
        # request's stream depends on its index in the file): 2,048 prompts at
        # --batch 2048, then 8 of them, a file of their own, at --batch 1
        wait_for "build:$a"
        for key in "${!pid_of[@]}"; do [[ $key == model:* ]] && wait_for "$key"; done
        ( run_env "${b:-}"
        g=/tmp/b-$a/getp
        python3 -c "
import random
r = random.Random(17); n = 2048; rows = [' '.join(str(r.randrange(200000)) for _ in range(r.randint(4, 64))) for _ in range(n)]
open('/tmp/bi_all.ids', 'w').write('%d\n%s\n' % (n, '\n'.join(rows)))
pick = [0, 1, 255, 1000, 1023, 1024, 1777, 2047]
open('/tmp/bi_pick.ids', 'w').write('%d\n%s\n' % (len(pick), '\n'.join(rows[i] for i in pick)))
open('/tmp/bi_pick.idx', 'w').write(' '.join(map(str, pick)))"
        { "$g" /tmp/m20b --input-format ids -i /tmp/bi_all.ids -n 112 --ignore-eos --batch 2048 -o /tmp/bi_all.out &&
          "$g" /tmp/m20b --input-format ids -i /tmp/bi_pick.ids -n 112 --ignore-eos --batch 1 -o /tmp/bi_pick.out; } \
            >"$out/batchinv_$a.$k.log" 2>&1 || { echo "batchinv: a run failed"; tail -5 "$out/batchinv_$a.$k.log"; }
        python3 -c "
idx = list(map(int, open('/tmp/bi_pick.idx').read().split()))
full = open('/tmp/bi_all.out').read().split('\n'); one = open('/tmp/bi_pick.out').read().split('\n')
bad = [i for j, i in enumerate(idx) if full[i] != one[j]]
print('%s batch 2048 vs batch 1 (20b, %d prompts alone): %s' % ('FAIL' if bad else 'PASS', len(idx), bad or 'identical'))" ) ;;
    scaling)
        wait_for "build:$a"
        for key in "${!pid_of[@]}"; do [[ $key == model:* ]] && wait_for "$key"; done
        ( run_env "${b:-}"; MODEL=${MODEL:-/tmp/m20b} GETP=/tmp/b-$a/getp OUTDIR=$out/scaling_$a \
            bash bench/scaling.sh ) 2>&1 | tee "$out/scaling_$a.log" | tail -30 ;;
    *) echo "device: unknown step $step" ;;
    esac
done
wait
echo "total: $(el)"
tar --exclude='*.out' --exclude='*.mem' -czf "$res/device_logs.tgz" -C "$out" . 2>/dev/null
