#!/usr/bin/env bash
# run_slurm_test.sh GETP MODELGEN WORKDIR: getp under a real (single-node) Slurm.
#
# Brings up a throw-away cluster on this machine: munged, slurmctld and slurmd,
# all as root and in the foreground as children of this script (so they are
# reaped at the end, not left as zombies), with a minimal slurm.conf in WORKDIR/cluster (its own ports,
# socket, state and logs; nothing under /etc is touched). Then, with 2 tasks on
# the CPU backend and the tiny synthetic model:
#   A. sbatch of jobs/getp_mi250_1node.sbatch itself (its GPU #SBATCH lines
#      dropped, SRUN_BIND="" since the test node has no GPUs), which launches
#      the ranks with `srun --mpi=pmix` (Slurm's PMIx server; Open MPI 4.1 is a
#      PMIx client);
#   B. sbatch of a script that calls mpirun inside the allocation (Open MPI
#      reads the allocation and starts its daemons through srun): the fallback
#      for sites whose srun has no PMI plugin Open MPI can talk to;
#   C. srun --mpi=pmix -n 2 directly (an interactive step);
#   D. the time limit: the job script of A under sbatch --time=1
#      --signal=TERM@55 and an input sized to ~50 s of work. Slurm sends
#      SIGTERM to the ranks 5 to 35 s after the start (its time-limit check runs
#      every 30 s); getp keeps what it finished and exits 75; the script
#      requeues the job, whose next start resumes from the journal (the test
#      shortens Slurm's requeue delay with scontrol update StartTime=now+3 and
#      gives the requeued job 5 minutes: with one minute each start may be
#      stopped ~5 s in again, the check's phase repeating from start to start,
#      and a CI run once saw six starts finish ~10 requests each). The job must
#      end COMPLETED after at least one requeue, with the uninterrupted run's file.
# Each waits for its job with a bounded timeout and compares the output file
# byte for byte with the single-rank run (D: the 2-rank run). The cluster is
# brought down on exit (trap), whatever happened.
#
# Needs slurm-wlm and munge (Debian: apt-get install slurm-wlm munge). If
# they are missing and this runs as root with apt-get available, they are
# installed here (GETP_SLURM_NO_INSTALL=1 forbids that: the test then fails,
# saying what is missing). .ci/run installs them before ctest and sets
# GETP_TEST_SLURM=1, which registers this test (cmake/mpi.cmake).
# Ports: GETP_SLURM_PORT (slurmctld, default 16817) and the next one (slurmd).
set -u
GETP=$1 MODELGEN=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$ROOT/tests/mpi/common.sh"
JOB_TIMEOUT=${GETP_SLURM_JOB_TIMEOUT:-120}
PORT=${GETP_SLURM_PORT:-16817}

mkdir -p "$WORK" && cd "$WORK" || exit 1
WORK=$(pwd)
C=$WORK/cluster

# ---------------------------------------------------------------- install
need=()
for b in munged slurmctld slurmd sbatch srun scontrol squeue; do
    command -v $b > /dev/null || need+=($b)
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null && [ "${GETP_SLURM_NO_INSTALL:-0}" != 1 ]; then
        echo "installing slurm-wlm munge (missing: ${need[*]})"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge > apt.log 2>&1 ||
            { tail -5 apt.log; fail "apt-get install slurm-wlm munge"; finish; exit 1; }
    else
        fail "missing ${need[*]}: apt-get install slurm-wlm munge (as root)"
        finish
        exit 1
    fi
fi
if [ "$(id -u)" != 0 ]; then
    fail "this test runs slurmd (which must start jobs as their user) and munged as root"
    finish
    exit 1
fi

# ---------------------------------------------------------------- cluster
cleanup() {
    set +e
    export SLURM_CONF=$C/slurm.conf
    scancel --quiet --full -u root 2> /dev/null
    # the daemons run in the foreground as our children, so we can reap them
    for pid in $SLURMD_PID $SLURMCTLD_PID $MUNGED_PID; do kill "$pid" 2> /dev/null; done
    for _ in 1 2 3 4 5; do
        alive=0
        for pid in $SLURMD_PID $SLURMCTLD_PID $MUNGED_PID; do kill -0 "$pid" 2> /dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 1
    done
    for pid in $SLURMD_PID $SLURMCTLD_PID $MUNGED_PID; do kill -9 "$pid" 2> /dev/null; done
    wait 2> /dev/null
}
SLURMD_PID="" SLURMCTLD_PID="" MUNGED_PID=""
trap cleanup EXIT

rm -rf "$C" && mkdir -p "$C/state" "$C/spool" "$C/munge"
chmod 700 "$C/munge"
dd if=/dev/urandom of="$C/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$C/munge/munge.key"
# munged refuses world-writable parents unless forced; the work dir is ours
munged --foreground --force --key-file="$C/munge/munge.key" --socket="$C/munge/munge.socket" \
    --pid-file="$C/munged.pid" --log-file="$C/munged.log" --seed-file="$C/munge/seed" \
    > "$C/munged.out" 2>&1 &
MUNGED_PID=$!
for _ in $(seq 1 20); do [ -S "$C/munge/munge.socket" ] && break; sleep 0.5; done
if munge -S "$C/munge/munge.socket" -n | unmunge -S "$C/munge/munge.socket" > /dev/null; then
    pass "munged up (credential round trip)"
else
    cat "$C/munged.out" "$C/munged.log" 2> /dev/null
    fail "munged start / munge round trip"
    finish
    exit 1
fi

HOST=$(hostname -s)
CPUS=$(getconf _NPROCESSORS_ONLN)  # not nproc: it honours OMP_NUM_THREADS
cat > "$C/slurm.conf" << EOF
ClusterName=getptest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$C/munge/munge.socket
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/slurmctld.log
SlurmdLogFile=$C/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
PlugStackConfig=$C/plugstack.conf
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
: > "$C/plugstack.conf"
export SLURM_CONF=$C/slurm.conf

slurmctld -D -f "$C/slurm.conf" > "$C/slurmctld.out" 2>&1 &
SLURMCTLD_PID=$!
sleep 1
slurmd -D -f "$C/slurm.conf" -N "$HOST" > "$C/slurmd.out" 2>&1 &
SLURMD_PID=$!
up=0
for _ in $(seq 1 30); do
    state=$(sinfo -h -N -o '%T' 2> /dev/null | head -1)
    case $state in idle*|mixed*|allocated*) up=1; break ;; esac
    sleep 1
done
if [ $up = 1 ]; then
    pass "cluster up: $(sinfo -h -N -o '%N %T %c cpus' | head -1)"
else
    fail "node never became idle (state '${state:-none}')"
    tail -20 "$C/slurmctld.out" "$C/slurmd.out" "$C/slurmctld.log" "$C/slurmd.log"
    finish
    exit 1
fi
echo "srun --mpi=list: $(srun --mpi=list 2>&1 | tr '\n' ' ')"

# ---------------------------------------------------------------- inputs
rm -rf job_?.log out_?.txt out_?.txt.journal # the job scripts append to their logs (--open-mode=append)
make_model model || { fail "model generation"; finish; exit 1; }
V=$(vocab_of model)
make_ids in.txt 10 2 12 17 "$V"
STEPS=24
IDS_ARGS="--input-format ids --backend cpu -t 0.8 -p 0.9 -s 5"
check "single-rank reference" to_log ref.log timeout "$RUN_TIMEOUT" "$GETP" model -m getp -i in.txt -o ref.txt \
    -n $STEPS $IDS_ARGS

# wait_job ID: bounded wait; echoes the final state
wait_job() {
    local id=$1 st=""
    for _ in $(seq 1 "$JOB_TIMEOUT"); do
        st=$(scontrol show job "$id" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
        case $st in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) break ;; esac
        sleep 1
    done
    case $st in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) ;;
        *) scancel "$id" 2> /dev/null; st="HUNG(${st:-unknown})" ;;
    esac
    echo "$st"
}

# judge NAME JOBSTATE OUTPUT LOG
judge() {
    local name=$1 st=$2 out=$3 log=$4
    if [ "$st" = COMPLETED ] && cmp -s ref.txt "$out" && grep -q '^rank 1: requests' "$log"; then
        pass "$name: job $st, 2 ranks, output identical ($(grep '^throughput' "$log"))"
    else
        fail "$name: job ${st}, output $(cmp -s ref.txt "$out" && echo identical || echo differs/missing)"
        sed 's/^/    /' "$log" 2> /dev/null | tail -25
    fi
}

# A. the job script itself, GPU lines dropped, srun --mpi=pmix inside
sed -e '/^#SBATCH --gpus-per-task/d' -e '/^#SBATCH --cpus-per-task/d' -e '/^#SBATCH --ntasks-per-node/d' \
    "$ROOT/jobs/getp_mi250_1node.sbatch" > job_a.sbatch
id=$(GETP=$GETP MODEL=model INPUT=in.txt OUTPUT=out_a.txt STEPS=$STEPS GETP_ARGS="$IDS_ARGS" \
     SRUN_MPI=${GETP_SLURM_MPI:-pmix} SRUN_BIND="" OMP_NUM_THREADS=1 \
     sbatch --parsable --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 --output="$WORK/job_a.log" job_a.sbatch 2> sbatch_a.err)
if [ -n "$id" ]; then
    judge "A: sbatch jobs/getp_mi250_1node.sbatch (srun --mpi=${GETP_SLURM_MPI:-pmix})" "$(wait_job "$id")" out_a.txt job_a.log
else
    fail "A: sbatch refused: $(cat sbatch_a.err)"
fi

# B. mpirun inside the allocation
cat > job_b.sbatch << EOF
#!/bin/bash
#SBATCH --job-name=getp-mpirun
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# mpirun takes the task count and hosts from the allocation (SLURM_* variables)
mpirun --bind-to none "$GETP" model -m getp -i in.txt -o out_b.txt -n $STEPS $IDS_ARGS
EOF
id=$(sbatch --parsable --ntasks=2 --output="$WORK/job_b.log" job_b.sbatch 2> sbatch_b.err)
if [ -n "$id" ]; then
    judge "B: sbatch + mpirun inside the allocation" "$(wait_job "$id")" out_b.txt job_b.log
else
    fail "B: sbatch refused: $(cat sbatch_b.err)"
fi

# C. an interactive step
OMP_NUM_THREADS=1 timeout "$JOB_TIMEOUT" srun --mpi=${GETP_SLURM_MPI:-pmix} -n 2 "$GETP" model -m getp -i in.txt \
    -o out_c.txt -n $STEPS $IDS_ARGS > job_c.log 2>&1
rc=$?
judge "C: srun --mpi=${GETP_SLURM_MPI:-pmix} -n 2" "$([ $rc = 0 ] && echo COMPLETED || echo "FAILED(rc $rc)")" \
    out_c.txt job_c.log


# D. the time limit, SIGTERM before it, requeue, --resume (the recipe of jobs/README.md)
make_ids cal.txt 24 2 12 31 "$V"
to_log cal.log run_np 2 "$GETP" model -m getp -i cal.txt -o cal.out -n $STEPS $IDS_ARGS
N_D=$(awk '/^throughput:/ { t = $2 } /^tokens:/ { k = $2 }
    END { n = k > 0 ? int(50 * t / (k / 24)) : 0; print (n < 250 ? 250 : (n > 25000 ? 25000 : n)) }' cal.log)
make_ids in_d.txt "$N_D" 2 12 37 "$V"
check "D: 2-rank reference of $N_D requests (~50 s of work)" to_log ref_d.log run_np 2 "$GETP" model -m getp \
    -i in_d.txt -o ref_d.txt -n $STEPS $IDS_ARGS
rm -rf out_d.txt out_d.txt.journal
id=$(GETP=$GETP MODEL=model INPUT=in_d.txt OUTPUT=out_d.txt STEPS=$STEPS GETP_ARGS="$IDS_ARGS" \
     SRUN_MPI=${GETP_SLURM_MPI:-pmix} SRUN_BIND="" OMP_NUM_THREADS=1 REQUEUE=1 \
     sbatch --parsable --time=1 --signal=TERM@55 --ntasks=2 --ntasks-per-node=2 --cpus-per-task=1 \
     --output="$WORK/job_d.log" job_a.sbatch 2> sbatch_d.err)
if [ -n "$id" ]; then
    st="" rs=0 lifted=0 ended=0
    for _ in $(seq 1 $((3 * JOB_TIMEOUT))); do
        info=$(scontrol show job "$id" 2> /dev/null)
        st=$(grep -o 'JobState=[A-Z_]*' <<< "$info" | cut -d= -f2)
        rs=$(grep -o 'Restarts=[0-9]*' <<< "$info" | cut -d= -f2)
        # requeued: shorten Slurm's delay (about 2 min) to 3 s (a start in the same
        # second as the requeue is refused: "credential revoked"), and give it the
        # time to finish (the header: starts stopped ~5 s in, again and again)
        if [ "$st" = PENDING ] && [ "${rs:-0}" -gt "$lifted" ]; then
            scontrol update JobId="$id" StartTime=now+3 TimeLimit=5 2> /dev/null
            lifted=$rs
        fi
        # a job that requeues itself may show FAILED for a moment first: an end must last 3 s
        case $st in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
            ended=$((ended + 1)) ;;
            *) ended=0 ;;
        esac
        [ $ended -ge 3 ] && break
        sleep 1
    done
    case $st in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) ;;
        *) scancel "$id" 2> /dev/null; st="HUNG(${st:-unknown})" ;;
    esac
    stops=$(grep -c 'getp: SIGTERM: stopped' job_d.log)
    if [ "$st" = COMPLETED ] && [ "${rs:-0}" -ge 1 ] && [ "$stops" -ge 1 ] && cmp -s ref_d.txt out_d.txt &&
        grep -q 'finished requests recovered' job_d.log && [ ! -e out_d.txt.journal ]; then
        pass "D: --time=1 --signal=TERM@55: stopped $stops times, requeued $rs times, resumed; job $st, output identical"
    else
        fail "D: job $st after $rs requeues, $stops stops, output $(cmp -s ref_d.txt out_d.txt && echo identical || echo differs/missing)"
        sed 's/^/    /' job_d.log 2> /dev/null | grep -v '^    getp: progress' | tail -30
    fi
else
    fail "D: sbatch refused: $(cat sbatch_d.err)"
fi

finish
