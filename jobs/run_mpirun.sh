#!/bin/bash
# run_mpirun.sh: getp with mpirun on a plain machine (no scheduler).
#
#   MODEL=m.bin INPUT=in.txt OUTPUT=out.txt NP=8 jobs/run_mpirun.sh [extra getp args]
#
# Variables:
#   GETP       getp binary                 default: ./build/getp
#   MODEL      .bin file or checkpoint dir  required
#   INPUT      request file (-i)            required
#   OUTPUT     result file (-o)             default: output.txt
#   STEPS      -n position bound            default: 1024
#   TOKENIZER  -z tokenizer file            default: none (then $GETP_TOKENIZER, or ids in/out)
#   NP         ranks                        default: 8 (one per GPU; getp binds node-local rank k
#                                           to visible GPU k, HIP/ROCR/CUDA_VISIBLE_DEVICES honoured)
#   BIND       --bind-to                   default: socket; none when NP exceeds the cores here
#   MAP_BY     --map-by for Open MPI        default: slot
#   MPIRUN     launcher                     default: mpirun
#   HOSTFILE   hosts for several machines   default: none (this machine)
#   GETP_ARGS  extra getp arguments         (also: any arguments given to this script)
# Open MPI and MPICH/Hydra both work: the Open MPI-only flags are added only when
# `mpirun --version` says Open MPI. Running as root needs OMPI_ALLOW_RUN_AS_ROOT=1
# and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 with Open MPI (CI containers).
set -euo pipefail

GETP=${GETP:-./build/getp}
MODEL=${MODEL:?set MODEL to the model file or checkpoint directory}
INPUT=${INPUT:?set INPUT to the request file}
OUTPUT=${OUTPUT:-output.txt}
STEPS=${STEPS:-1024}
TOKENIZER=${TOKENIZER:-}
NP=${NP:-8}
if [ "$NP" -gt "$(getconf _NPROCESSORS_ONLN)" ]; then BIND=${BIND:-none}; else BIND=${BIND:-socket}; fi
MPIRUN=${MPIRUN:-mpirun}
HOSTFILE=${HOSTFILE:-}
GETP_ARGS=${GETP_ARGS:-}

launch=("$MPIRUN" -np "$NP")
if "$MPIRUN" --version 2>&1 | grep -q "Open MPI"; then
    launch+=(--bind-to "$BIND" --map-by "${MAP_BY:-slot}" -x OMP_NUM_THREADS)
    [ -n "$HOSTFILE" ] && launch+=(--hostfile "$HOSTFILE")
    # more ranks than cores (a small test machine) would be refused otherwise
    [ "$NP" -gt "$(getconf _NPROCESSORS_ONLN)" ] && [ -z "$HOSTFILE" ] && launch+=(--oversubscribe)
else # MPICH / Hydra
    launch+=(-bind-to "$BIND")
    [ -n "$HOSTFILE" ] && launch+=(-f "$HOSTFILE")
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(getconf _NPROCESSORS_ONLN) / NP > 0 ? $(getconf _NPROCESSORS_ONLN) / NP : 1 ))}

args=("$MODEL" -m getp -i "$INPUT" -o "$OUTPUT" -n "$STEPS")
[ -n "$TOKENIZER" ] && args+=(-z "$TOKENIZER")
# shellcheck disable=SC2206  # GETP_ARGS is split on purpose
args+=($GETP_ARGS "$@")
exec "${launch[@]}" "$GETP" "${args[@]}"
