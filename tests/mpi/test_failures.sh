#!/usr/bin/env bash
# test_failures.sh GETP MODELGEN WORKDIR: failures end every rank, quickly, with one message.
#
# On 3 ranks (and as a singleton): missing input file, missing model, corrupt
# (truncated) model, malformed count line, unwritable output, --backend gpu on
# a CPU build. Each must exit non-zero within 30 s (the launcher runs under
# timeout 60: a hang fails), print exactly one "getp: ..." line naming the
# problem, and leave no rank behind.
set -u
GETP=$1 MODELGEN=$2 WORK=$3
source "$(dirname "$0")/common.sh"
enter_work
make_ids in.txt 4 2 5 1 "$V"
rm -rf broken && cp -r model broken
head -c 100000 model/model.safetensors > broken/model.safetensors
printf 'four\n1 2\n3 4\n5 6\n7 8\n' > badcount.txt

# expect_fail NAME PATTERN NP ARGS...: NP = 0 runs a singleton without the launcher
expect_fail() {
    local name=$1 pattern=$2 np=$3
    shift 3
    local t0=$SECONDS rc
    if [ "$np" = 0 ]; then
        timeout 60 "$GETP" "$@" > "$name.out" 2> "$name.err"
    else
        timeout 60 "$MPIRUN" "${MPI_FLAGS[@]}" -np "$np" "$GETP" "$@" > "$name.out" 2> "$name.err"
    fi
    rc=$?
    local dt=$((SECONDS - t0)) n_msg
    n_msg=$(grep -c '^getp: ' "$name.err")
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $dt -le 30 ] && [ "$n_msg" = 1 ] && grep -q "$pattern" "$name.err"; then
        pass "$name (np $np): exit $rc in ${dt}s: $(grep '^getp: ' "$name.err")"
    else
        fail "$name (np $np): exit $rc in ${dt}s, $n_msg getp lines, want /$pattern/"
        sed 's/^/    /' "$name.err" | head -20
    fi
}

for np in 0 3; do
    expect_fail missing_input$np "cannot open input" $np model -m getp -n 16 --input-format ids -i nowhere.txt -o out.txt
    expect_fail missing_model$np "nowhere_model" $np nowhere_model -m getp -n 16 --input-format ids -i in.txt -o out.txt
    expect_fail corrupt_model$np "broken" $np broken -m getp -n 16 --input-format ids -i in.txt -o out.txt
    expect_fail bad_count$np "number of requests" $np model -m getp -n 16 --input-format ids -i badcount.txt -o out.txt
    expect_fail bad_output$np "cannot open output" $np model -m getp -n 16 --input-format ids -i in.txt -o no/such/dir/out.txt
    # a GPU build may have a GPU to run on: this case is for CPU-only builds
    if ! ldd "$GETP" | grep -Eq 'libamdhip64|libcudart'; then
        expect_fail gpu_backend$np "backend" $np model -m getp -n 16 --input-format ids -i in.txt -o out.txt --backend gpu
    fi
done
# no rank left behind: no getp running in this test's directory (other tests may run
# getp at the same time under ctest -j)
sleep 1
none_left_here() {
    local pid
    for pid in $(pgrep -f "^$GETP "); do
        [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$PWD" ] && return 1
    done
    return 0
}
check "no getp process left" none_left_here
finish
