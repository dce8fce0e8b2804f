#!/usr/bin/env bash
# test_dist.sh TEST_MPI_DIST: the mpi/dist.c unit test as a singleton and under -np 1..4.
set -u
BIN=$1
source "$(dirname "$0")/common.sh"
check "singleton (no launcher)" timeout 60 "$BIN"
for np in 1 2 3 4; do
    check "-np $np" run_np $np "$BIN"
done
finish
