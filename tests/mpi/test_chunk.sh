#!/usr/bin/env bash
# test_chunk.sh GETP MODELGEN WORKDIR: whole runs with an artificial chunk limit.
#
# GETP_MPI_CHUNK=3 limits every scatter/gather to 3 elements per rank per MPI
# call, so the params, the prompt ids, the output records and the generated
# ids all go through the chunked path (counts past INT_MAX take the same code).
# Outputs must equal the single-rank run. The unit test (test_dist.sh) checks
# the chunked collectives element by element.
set -u
GETP=$1 MODELGEN=$2 WORK=$3
source "$(dirname "$0")/common.sh"
enter_work
make_ids in.txt 13 1 20 21 "$V"
ARGS=(model -n 28 --input-format ids -i in.txt -t 0.8 -p 0.9 -s 7)
check "single-rank run" to_log ref.log timeout "$RUN_TIMEOUT" "$GETP" "${ARGS[@]}" -o ref.txt
for np in 2 3 5; do
    GETP_MPI_CHUNK=3 run_np $np "$GETP" "${ARGS[@]}" -o c$np.txt > c$np.log 2>&1
    check "-np $np with GETP_MPI_CHUNK=3 identical" cmp ref.txt c$np.txt
done
GETP_MPI_CHUNK=1 run_np 4 "$GETP" "${ARGS[@]}" -o c1.txt > c1.log 2>&1
check "-np 4 with GETP_MPI_CHUNK=1 identical" cmp ref.txt c1.txt
finish
