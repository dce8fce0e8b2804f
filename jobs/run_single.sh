#!/bin/bash
# run_single.sh: one getp process, no launcher (MPI singleton): the correctness
# reference that multi-rank outputs are compared against.
#
#   MODEL=m.bin INPUT=in.txt OUTPUT=ref.txt jobs/run_single.sh [extra getp args]
#
# Variables:
#   GETP       getp binary                 default: ./build/getp
#   MODEL      .bin file or checkpoint dir  required
#   INPUT      request file (-i)            required
#   OUTPUT     result file (-o)             default: output_single.txt
#   STEPS      -n position bound            default: 1024
#   TOKENIZER  -z tokenizer file            default: none (then $GETP_TOKENIZER, or ids in/out)
#   BACKEND    cpu | gpu | auto             default: auto
#   GETP_ARGS  extra getp arguments         (also: any arguments given to this script)
# Compare: cmp "$OUTPUT" output.txt (a multi-rank run of the same input and options).
set -euo pipefail

GETP=${GETP:-./build/getp}
MODEL=${MODEL:?set MODEL to the model file or checkpoint directory}
INPUT=${INPUT:?set INPUT to the request file}
OUTPUT=${OUTPUT:-output_single.txt}
STEPS=${STEPS:-1024}
TOKENIZER=${TOKENIZER:-}
BACKEND=${BACKEND:-auto}
GETP_ARGS=${GETP_ARGS:-}

args=("$MODEL" -m getp -i "$INPUT" -o "$OUTPUT" -n "$STEPS" --backend "$BACKEND")
[ -n "$TOKENIZER" ] && args+=(-z "$TOKENIZER")
# shellcheck disable=SC2206  # GETP_ARGS is split on purpose
args+=($GETP_ARGS "$@")
exec "$GETP" "${args[@]}"
