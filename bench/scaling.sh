#!/usr/bin/env bash
# scaling.sh: weak and strong scaling of getp over R ranks (issue: scaling run).
#
#   MODEL=DIR bench/scaling.sh                  one GPU per rank (multi-GPU machine)
#   MODEL=DIR SHARE_GPU=1 bench/scaling.sh      R ranks share the visible GPU(s)
#
# Workload, token ids so no tokenizer is needed: every prompt has PROMPT_LEN
# random ids and yields exactly NEW new ids (-n PROMPT_LEN+NEW-1, --ignore-eos).
#   weak:   PER_RANK requests per rank (default 512)
#   strong: TOTAL requests in all (default 2048)
# Env: GETP (default build/getp), RANKS (default "1 2 4 8"), NEW (512),
# PROMPT_LEN (24), MODES ("weak strong"), EXTRA (more getp args), OUTDIR.
# Prints one line per (mode, R): tok/s, efficiency TPS(R)/(R*TPS(1)), warm-up,
# imbalance, the GPU memory per rank (nvidia-smi, when present), and whether the
# outputs equal the first R's byte for byte (weak: the shared first requests); writes
# the getp logs to OUTDIR. NVLink multicast is never enabled: the NCCL/NVSHMEM
# variables are printed as the machine sets them (getp uses no NCCL anyway).
set -euo pipefail
GETP=${GETP:-build/getp}
MODEL=${MODEL:?set MODEL to a checkpoint directory or .bin}
RANKS=${RANKS:-"1 2 4 8"}
PER_RANK=${PER_RANK:-512}
TOTAL=${TOTAL:-2048}
NEW=${NEW:-512}
PROMPT_LEN=${PROMPT_LEN:-24}
MODES=${MODES:-"weak strong"}
OUTDIR=${OUTDIR:-scaling_out}
EXTRA=${EXTRA:-}
share=""
[ "${SHARE_GPU:-0}" = 1 ] && share="--share-gpu"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$OUTDIR"
echo "scaling: NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE-unset} NVSHMEM_DISABLE_NVLS=${NVSHMEM_DISABLE_NVLS-unset} (left as the machine sets them)"
vocab=$(python3 -c "import json,sys; print(json.load(open('$MODEL/config.json'))['vocab_size'])" 2>/dev/null || echo 1024)

make_ids() { # N FILE
  python3 - "$1" "$2" "$PROMPT_LEN" "$vocab" <<'PY'
import random, sys
n, path, plen, vocab = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(12345)
with open(path, "w") as f:
    f.write(f"{n}\n")
    for _ in range(n):
        f.write(" ".join(str(rng.randrange(min(vocab, 199998))) for _ in range(plen)) + "\n")
PY
}

memwatch() { # background sampler of per-process GPU memory, MiB
  command -v nvidia-smi >/dev/null 2>&1 || return 0
  while :; do nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null; sleep 1; done > "$1" &
  echo $!
}

printf '%-6s %3s %9s %10s %10s %8s %9s %12s\n' mode R requests tokens tok/s eff warm_s imbalance%
for mode in $MODES; do
  base=""
  for r in $RANKS; do
    if [ "$mode" = weak ]; then n=$((PER_RANK * r)); else n=$TOTAL; fi
    in="$OUTDIR/${mode}_$n.ids"; [ -f "$in" ] || make_ids "$n" "$in"
    log="$OUTDIR/${mode}_r$r.log"; mem="$OUTDIR/${mode}_r$r.mem"
    wpid=$(memwatch "$mem")
    mpirun --oversubscribe -np "$r" "$GETP" "$MODEL" --input-format ids -i "$in" -o "$OUTDIR/${mode}_r$r.out" \
      -n $((PROMPT_LEN + NEW - 1)) --ignore-eos $share $EXTRA > "$log" 2>&1 || { echo "scaling: R=$r failed, see $log"; [ -n "$wpid" ] && kill "$wpid"; exit 1; }
    [ -n "$wpid" ] && kill "$wpid" 2>/dev/null || true
    tps=$(awk '/^throughput:/ {print $2}' "$log"); tok=$(awk '/^tokens:/ {print $2}' "$log")
    warm=$(awk '/^warm_up:/ {print $2}' "$log"); imb=$(awk '/^imbalance:/ {print $2}' "$log")
    [ -z "$base" ] && base=$tps
    eff=$(awk -v t="$tps" -v b="$base" -v r="$r" 'BEGIN {printf "%.3f", t / (r * b)}')
    printf '%-6s %3s %9s %10s %10s %8s %9s %12s\n' "$mode" "$r" "$n" "$tok" "$tps" "$eff" "$warm" "$imb"
    [ -s "$mem" ] && awk -F', ' '{m[$1] = ($2 > m[$1] ? $2 : m[$1])} END {for (p in m) printf "  gpu memory pid %s: %d MiB\n", p, m[p]}' "$mem"
    # byte for byte against the first R's outputs (weak: the inputs share their first lines)
    first=$(echo $RANKS | awk '{print $1}')
    if [ "$r" != "$first" ]; then
      ref="$OUTDIR/${mode}_r$first.out"; nref=$(wc -l < "$ref")
      if head -n "$nref" "$OUTDIR/${mode}_r$r.out" | cmp -s - "$ref"; then
        echo "  outputs: the $nref requests of R=$first byte-identical at R=$r"
      else
        echo "  outputs: DIFFER from R=$first at R=$r"
      fi
    fi
  done
done
