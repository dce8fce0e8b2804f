# tests/mpi/common.sh: helpers shared by the MPI test scripts (sourced, not run).
#
#   MPIRUN         launcher (default mpirun); Open MPI gets --oversubscribe, and
#                  OMPI_ALLOW_RUN_AS_ROOT* when run as root (CI containers)
#   GETP_TEST_TIMEOUT  seconds per getp run (default 120); a hang fails the case
# Every script ends with finish, which prints "N passed, M failed".

PASS=0
FAIL=0
# the scripts cd into their work directory: make the program paths absolute
[ -n "${GETP:-}" ] && GETP=$(readlink -f "$GETP")
[ -n "${MODELGEN:-}" ] && MODELGEN=$(readlink -f "$MODELGEN")
pass() { PASS=$((PASS + 1)); echo "PASS: $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
finish() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
to_log() { # to_log LOG COMMAND...: run COMMAND with stdout and stderr to LOG
    local log=$1
    shift
    "$@" > "$log" 2>&1
}
check() { # check DESCRIPTION COMMAND...: pass if the command succeeds
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

MPIRUN=${MPIRUN:-mpirun}
RUN_TIMEOUT=${GETP_TEST_TIMEOUT:-120}
MPI_FLAGS=()
if "$MPIRUN" --version 2>&1 | grep -q "Open MPI"; then
    MPI_FLAGS+=(--oversubscribe)
    if [ "$(id -u)" = 0 ]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
fi
# The CPU engine uses OpenMP; with many ranks on 2 cores one thread each is fastest.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# run_np N COMMAND...: COMMAND under the launcher with N ranks, bounded in time.
run_np() {
    local np=$1
    shift
    timeout "$RUN_TIMEOUT" "$MPIRUN" "${MPI_FLAGS[@]}" -np "$np" "$@"
}

# make_model DIR: the tiny synthetic checkpoint (vocabulary 1024 or so).
make_model() {
    local dir=$1
    [ -f "$dir/config.json" ] || "$MODELGEN" --preset tiny --seed 7 --out "$dir" > /dev/null
}

# vocab_of DIR: vocabulary size from the checkpoint's config.json.
vocab_of() {
    grep -o '"vocab_size"[^,}]*' "$1/config.json" | grep -o '[0-9]*$'
}

enter_work() { # mkdir and cd to $WORK, generate ./model there, V = its vocabulary size
    mkdir -p "$WORK" && cd "$WORK" || exit 1
    make_model model || { echo "model generation failed"; exit 1; }
    V=$(vocab_of model)
}

# make_ids FILE N MINLEN MAXLEN SEED VOCAB: course ids input, N prompts whose
# lengths are uniform in [MINLEN, MAXLEN], ids uniform below VOCAB.
make_ids() {
    awk -v n="$2" -v lo="$3" -v hi="$4" -v seed="$5" -v v="$6" 'BEGIN {
        srand(seed); print n;
        for (i = 0; i < n; i++) {
            len = lo + int(rand() * (hi - lo + 1)); line = "";
            for (j = 0; j < len; j++) line = line (j ? " " : "") int(rand() * v);
            print line;
        }
    }' > "$1"
}
