#!/usr/bin/env bash
# test_kill_resume.sh: a multi-rank run killed mid-way (SIGTERM, then SIGKILL)
# keeps every finished round; --resume runs the rest; the final file equals an
# uninterrupted run's: same lines, in order, no duplicates, none lost. Both
# the course ids format and JSONL.
#   test_kill_resume.sh GETP MODELGEN WORKDIR
set -uo pipefail
GETP=$1 MODELGEN=$2 work=$3
. "$(dirname "$0")/common.sh"
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
make_model model
vocab=$(vocab_of model)
N=240
make_ids in.ids $N 3 10 11 "$vocab"
awk 'NR > 1 { ids = $0; gsub(/ /, ", ", ids);
  printf "{\"id\": \"r%d\", \"prompt_token_ids\": [%s], \"max_tokens\": %d}\n", NR - 2, ids, 20 + (NR % 17) }' in.ids > in.jsonl
export GETP_ROUND_SIZE=8

for fmt in ids jsonl; do
  in=in.$fmt
  args=(--backend cpu -n 40 --input-format "$fmt")
  run_np 2 "$GETP" model -i "$in" -o ref.$fmt.out "${args[@]}" > ref.$fmt.log 2>&1
  check "$fmt: uninterrupted run" [ "$(wc -l < ref.$fmt.out)" = $N ]
  for sig in TERM KILL; do
    out=$sig.$fmt.out
    rm -f "$out"
    setsid "$MPIRUN" "${MPI_FLAGS[@]}" -np 2 "$GETP" model -i "$in" -o "$out" "${args[@]}" > $sig.$fmt.log 2>&1 &
    pid=$!
    for _ in $(seq 600); do # up to 60 s for the first rounds to land
      [ -f "$out" ] && [ "$(wc -l < "$out")" -ge 40 ] && break
      sleep 0.1
    done
    if [ $sig = TERM ]; then
      kill -TERM -- -"$pid" 2>/dev/null # mpirun forwards SIGTERM to the ranks
    else
      # SIGKILL of the whole job, as a scheduler does: mpirun and every rank
      # (Open MPI puts ranks in process groups of their own)
      pkill -KILL -f -- "-o $out" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    for _ in $(seq 100); do pgrep -f -- "-o $out" > /dev/null || break; sleep 0.1; done
    lines=$(cat "$out" 2>/dev/null | wc -l)
    check "$fmt $sig: killed mid-way with finished rounds kept ($lines of $N lines)" \
      [ "$lines" -ge 8 -a "$lines" -lt $N ]
    check "$fmt $sig: kept lines are a prefix of the uninterrupted run" \
      cmp -s <(head -n "$lines" ref.$fmt.out) <(head -n "$lines" "$out")
    # a torn last record, as a kill in the middle of a write would leave
    printf '17 23 4' >> "$out"
    run_np 2 "$GETP" model -i "$in" -o "$out" "${args[@]}" --resume > $sig.$fmt.resume.log 2>&1
    check "$fmt $sig: --resume completes the file, identical to the uninterrupted run" cmp -s "$out" ref.$fmt.out
    check "$fmt $sig: --resume skipped the finished requests" grep -q "already in" $sig.$fmt.resume.log
  done
done
# One writer per output: a second getp on a file being written is refused, untouched.
cp ref.ids.out held.out
flock held.out timeout 60 "$GETP" model -i in.ids -o held.out --input-format ids --backend cpu -n 40 --resume > held.log 2>&1
rc=$?
check "a second getp on a locked output is refused with a clear message" [ $rc -ne 0 ]
check "the refusal names the lock" grep -q "being written by another getp" held.log
check "the locked output is left intact" cmp -s held.out ref.ids.out
finish
