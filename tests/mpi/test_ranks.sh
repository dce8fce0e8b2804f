#!/usr/bin/env bash
# test_ranks.sh GETP MODELGEN WORKDIR: results do not depend on the rank count.
#
# The single-rank run (a singleton, no launcher) is the reference; mpirun
# -np 1,2,3,4,8 must give byte-identical output files, greedy and sampled
# (-t 0.8 -p 0.9 -s 123). The input mixes lengths and holds two bad requests
# (a prompt longer than -n, an id outside the vocabulary) that go to the
# writer as errors without being sent. Also: fewer requests than ranks; many
# small rounds (GETP_ROUND_SIZE=5); --resume after a cut-off output.
set -u
GETP=$1 MODELGEN=$2 WORK=$3
source "$(dirname "$0")/common.sh"
enter_work
STEPS=24
ARGS=(model -n $STEPS --input-format ids)

make_ids in.txt 22 1 14 11 "$V"
# two bad requests: a prompt longer than the step bound, an id outside the vocabulary
awk -v v="$V" 'NR == 1 { print $1 + 2; next } { print } END {
    line = ""; for (j = 0; j < 30; j++) line = line (j ? " " : "") j; print line; print "1 2 " v }' \
    in.txt > in2.txt && mv in2.txt in.txt
make_ids few.txt 3 2 6 5 "$V"

single() { # single NAME INPUT ARGS...: the reference, one process, no launcher
    local name=$1 input=$2
    shift 2
    timeout "$RUN_TIMEOUT" "$GETP" "${ARGS[@]}" -i "$input" -o "ref_$name.txt" "$@" > "ref_$name.log" 2>&1
}
# exit status 3 (README "Exit status"): the two bad requests failed, the others ran
single greedy in.txt; rc=$?
check "single-rank greedy run (exit $rc, want 3: two requests failed)" [ $rc = 3 ]
single sampled in.txt -t 0.8 -p 0.9 -s 123; rc=$?
check "single-rank sampled run (exit $rc, want 3)" [ $rc = 3 ]
check "single-rank few run" single few few.txt
check "greedy and sampled differ" bash -c "! cmp -s ref_greedy.txt ref_sampled.txt"
check "error requests give empty lines" bash -c "[ \"\$(tail -n 2 ref_greedy.txt | tr -d '\n')\" = '' ]"
check "24 output lines" bash -c "[ \$(wc -l < ref_greedy.txt) = 24 ]"

for np in 1 2 3 4 8; do
    run_np $np "$GETP" "${ARGS[@]}" -i in.txt -o g$np.txt > g$np.log 2>&1; rc=$?
    check "-np $np greedy identical" cmp ref_greedy.txt g$np.txt
    check "-np $np exit status $rc = 3 (some requests failed)" [ $rc = 3 ]
    run_np $np "$GETP" "${ARGS[@]}" -i in.txt -o s$np.txt -t 0.8 -p 0.9 -s 123 > s$np.log 2>&1
    check "-np $np sampled identical" cmp ref_sampled.txt s$np.txt
    check "-np $np prints $np rank lines" bash -c "[ \$(grep -c '^rank [0-9]*: requests' g$np.log) = $np ]"
done
check "rank 0 reports throughput" grep -q '^throughput: [0-9.]* tok/s' g4.log

run_np 8 "$GETP" "${ARGS[@]}" -i few.txt -o few8.txt > few8.log 2>&1
check "-np 8 with 3 requests identical" cmp ref_few.txt few8.txt
check "-np 8 with 3 requests: 5 idle ranks" bash -c "[ \$(grep -c '^rank [0-9]*: requests 0 ' few8.log) = 5 ]"

GETP_ROUND_SIZE=5 run_np 3 "$GETP" "${ARGS[@]}" -i in.txt -o r3.txt -t 0.8 -p 0.9 -s 123 > r3.log 2>&1
check "-np 3 in rounds of 5 identical" cmp ref_sampled.txt r3.txt

# --resume: keep 7 complete lines and half of the 8th, finish the rest on 2 ranks
head -n 7 ref_sampled.txt > res.txt
sed -n 8p ref_sampled.txt | head -c 5 >> res.txt
GETP_ROUND_SIZE=4 run_np 2 "$GETP" "${ARGS[@]}" -i in.txt -o res.txt -t 0.8 -p 0.9 -s 123 --resume > res.log 2>&1
check "--resume on 2 ranks completes identically" cmp ref_sampled.txt res.txt
check "--resume skipped 7" grep -q 'requests: .*7 done before --resume' res.log

finish
