#!/usr/bin/env bash
# test_journal.sh GETP MODELGEN WORKDIR: a run stopped in the middle of a
# round loses only what was in flight (src/journal.h, app/resume.h).
#
# N requests (TERM: 4 N) in ONE round on 2 ranks (CPU engine, tiny model). With -v every
# rank logs "finished request I" right after journaling request I, so the
# killed run's log is an outside count F of what had finished. Each case
# stops a run once about half the requests are logged, then runs --resume:
#   KILL    SIGKILL of mpirun and every rank at once (a scheduler's kill)
#   TERM    SIGTERM to mpirun, which forwards it: each rank says what it kept
#   rank    SIGKILL of rank 1 alone (mpirun then stops rank 0 with SIGTERM)
#   single  SIGTERM to a singleton: exit code 75 and the message, in seconds
#   rounds  GETP_ROUND_SIZE=12: killed in a later round (output + journal)
#   torn    KILL, then the last record of rank-0's journal cut short
# and after each: the output is byte-identical to the uninterrupted run
# (nothing lost, nothing twice), the resumed run ran at most N - F requests
# (every request logged as finished was recovered, not run again; "torn":
# N - F + 1), and the journal folder is gone. Then, on a stopped run, a resume
# with another temperature, -n, top_k, min_p or input, and a fresh run without --resume,
# are each refused with a message naming the problem, leaving output and
# journals as they were: the proper --resume still completes identically.
set -uo pipefail
GETP=$1 MODELGEN=$2 WORK=$3 # MODELGEN: used by common.sh
export MODELGEN
source "$(dirname "$0")/common.sh"
rm -rf "$WORK"
enter_work
N=96 IN=in.ids REF=ref.out
make_ids in.ids $N 3 10 11 "$V"
ARGS=(--backend cpu -n 24 --input-format ids --progress off)

# descendants PID: PID's children, grandchildren... (the ranks under mpirun)
descendants() {
    local c
    for c in $(pgrep -P "$1"); do
        echo "$c"
        descendants "$c"
    done
}
# kill_job: SIGKILL of mpirun ($pid) and every rank at once, as a scheduler does
kill_job() {
    local all
    all=$(descendants "$pid")
    # shellcheck disable=SC2086  # one pid per word
    kill -KILL $all "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
}
finished() { grep -c 'finished request [0-9]' "$1" 2> /dev/null || true; }
# wait_half LOG PID [D]: until LOG counts N/D finished requests (D = 2; or PID ended)
wait_half() {
    for _ in $(seq 1200); do
        [ "$(finished "$1")" -ge $((N / ${3:-2})) ] && return 0
        kill -0 "$2" 2> /dev/null || return 1
        sleep 0.1
    done
    return 1
}
# ran LOG: requests the run sent to its engines (sum of the report's rank lines)
ran() { awk '/^rank [0-9]+: requests/ { s += $4 } END { print s + 0 }' "$1"; }

run_np 2 "$GETP" model -i in.ids -o ref.out "${ARGS[@]}" > ref.log 2>&1
check "uninterrupted run: $N lines, no journal left" [ "$(wc -l < ref.out)" = $N -a ! -e ref.out.journal ]

# resume_case NAME SLACK: --resume of NAME.out; compare, count, clean up. The
# case's input, request count and reference are $IN, $N and $REF.
resume_case() {
    local name=$1 slack=$2 f
    f=$(finished "$name.log")
    run_np 2 "$GETP" model -i "$IN" -o "$name.out" "${ARGS[@]}" --resume > "$name.resume.log" 2>&1
    check "$name: --resume gives the uninterrupted run's file byte for byte" cmp -s "$name.out" "$REF"
    local r
    r=$(ran "$name.resume.log")
    check "$name: the resumed run ran $r requests: at least 1, at most N - F + $slack = $((N - f + slack)) (F = $f logged)" \
        [ "$r" -ge 1 -a "$r" -le $((N - f + slack)) ]
    check "$name: the journal folder is removed" [ ! -e "$name.out.journal" ]
}

# start NAME [ENV...]: the 2-rank run in the background, -v; PID in $pid
start() {
    local name=$1
    shift
    rm -rf "$name.out" "$name.out.journal"
    env "$@" "$MPIRUN" "${MPI_FLAGS[@]}" -np 2 "$GETP" model -i "$IN" -o "$name.out" "${ARGS[@]}" -v \
        > "$name.log" 2>&1 &
    pid=$!
}

# kill_rank1: SIGKILL of rank 1 alone (mpirun then stops rank 0)
kill_rank1() {
    local c
    for c in $(descendants $pid); do
        tr '\0' '\n' < "/proc/$c/environ" 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1\|PMI_RANK=1' && kill -KILL "$c"
    done
    wait $pid 2> /dev/null
}
# stop_case NAME STOP [ENV...]: start NAME, STOP it (kill_job, kill_rank1) once half the
# requests are logged; on a loaded machine the tiny model can finish them all before the
# kill lands (nothing to resume: the case would say nothing), so then again, up to 3 times
stop_case() {
    local name=$1 stop=$2 attempt
    shift 2
    for attempt in 1 2 3; do
        start "$name" "$@"
        wait_half "$name.log" $pid
        $stop
        [ "$(finished "$name.log")" -lt $N ] && return 0
        echo "note: $name: all $N requests finished before the kill (attempt $attempt)"
    done
}

# ---- SIGKILL of the whole job
stop_case KILL kill_job
check "KILL: the output holds no line of the unfinished round" [ ! -s KILL.out ]
resume_case KILL 0

# ---- SIGTERM to mpirun (forwarded to the ranks)
# mpirun forwards the signal only after a moment (~1 s on a 2-core machine), in
# which the tiny model finishes most of 96 requests: this case runs 4 x 96
# requests (its own input and reference), signals at a third of them, and if
# the whole run still finished first (nothing to resume: the case says
# nothing), runs it again, up to 3 times.
N=$((4 * 96)) IN=in4.ids REF=ref4.out
make_ids in4.ids $N 3 10 12 "$V"
run_np 2 "$GETP" model -i in4.ids -o ref4.out "${ARGS[@]}" > ref4.log 2>&1
check "TERM: uninterrupted run: $N lines" [ "$(wc -l < ref4.out)" = $N ]
for attempt in 1 2 3; do
    start TERM
    wait_half TERM.log $pid 3
    t0=$SECONDS
    kill -TERM $pid
    wait $pid 2> /dev/null
    dt=$((SECONDS - t0))
    [ "$(finished TERM.log)" -lt $N ] && break
    echo "note: TERM: all $N requests finished before SIGTERM arrived (attempt $attempt)"
done
check "TERM: the job ended ${dt} s after SIGTERM (at most 10)" [ $dt -le 10 ]
check "TERM: a rank says what it kept" grep -q 'getp: SIGTERM: .*stopped' TERM.log
resume_case TERM 0
N=96 IN=in.ids REF=ref.out

# ---- rank 1 killed alone
stop_case rank kill_rank1
resume_case rank 0

# ---- a singleton stopped by SIGTERM: exit code 75 and one message
rm -rf single.out single.out.journal
"$GETP" model -i in.ids -o single.out "${ARGS[@]}" -v > single.log 2>&1 &
pid=$!
wait_half single.log $pid
t0=$SECONDS
kill -TERM $pid
wait $pid
rc=$?
dt=$((SECONDS - t0))
check "single: exit code $rc (75) ${dt} s after SIGTERM" [ $rc = 75 -a $dt -le 5 ]
check "single: the message says how to go on" grep -q 'getp: SIGTERM: stopped; .*--resume' single.log
f=$(finished single.log)
"$GETP" model -i in.ids -o single.out "${ARGS[@]}" --resume > single.resume.log 2>&1
check "single: --resume completes identically" cmp -s single.out ref.out
r=$(ran single.resume.log)
check "single: ran $r requests, at most N - F = $((N - f))" [ "$r" -ge 1 -a "$r" -le $((N - f)) ]

# ---- several rounds: killed in a later one; output prefix + journals merge
stop_case rounds kill_job GETP_ROUND_SIZE=12
lines=$(wc -l < rounds.out)
check "rounds: finished rounds are in the output ($lines lines, a multiple of 12)" \
    [ "$lines" -ge 12 -a $((lines % 12)) = 0 ]
resume_case rounds 0

# ---- a torn last record: dropped, that one request runs again
stop_case torn kill_job
size=$(stat -c %s torn.out.journal/rank-0)
truncate -s $((size - 5)) torn.out.journal/rank-0
cp -r torn.out.journal kept.journal
# ---- refusals on this stopped run: nothing touched
refuse() { # refuse NAME PATTERN ARGS...: must fail naming PATTERN, output and journals unchanged
    local name=$1 pattern=$2
    shift 2
    timeout 60 "$GETP" model -o torn.out "${ARGS[@]}" "$@" > "refuse_$name.log" 2>&1
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$(grep -c '^getp: ' "refuse_$name.log")" = 1 ] &&
        grep -q "$pattern" "refuse_$name.log" && [ ! -s torn.out ] && diff -r -q kept.journal torn.out.journal > /dev/null; then
        pass "refused: $name: $(cat "refuse_$name.log")"
    else
        fail "refused: $name (exit $rc)"
        sed 's/^/    /' "refuse_$name.log" | head -5
    fi
}
refuse temperature "temperature: 0 there, 0.5 here" -i in.ids --resume -t 0.5
refuse steps "steps: 24 there, 30 here" -i in.ids --resume -n 30
refuse top_k "top_k: 0 there, 5 here" -i in.ids --resume -k 5
refuse min_p "min_p: 0 there, 0.1[0-9]* here" -i in.ids --resume --min-p 0.1
awk 'NR == 5 { $1 = ($1 + 1) % 1000 } { print }' in.ids > changed.ids
refuse input "another run (input: " -i changed.ids --resume
refuse fresh "holds the journal of an interrupted run.*--resume" -i in.ids
resume_case torn 1
check "torn: --resume says it dropped the torn record" grep -q 'torn last record' torn.resume.log

finish
