#!/usr/bin/env bash
# test_balance.sh GETP MODELGEN WORKDIR: the split balances expected work.
#
# JSONL requests with prompt_token_ids of very different lengths (1..60 ids)
# and different max_tokens (1..40), -n 64: expected work per request
# n_prompt + min(max_tokens, steps - n_prompt + 1) ranges over 2..100. For
# -np 2,3,4,8 every "rank R: ... work W" line printed by rank 0 must be within
# 10% of the ideal (total / ranks), and outputs identical to the single rank.
set -u
GETP=$1 MODELGEN=$2 WORK=$3
source "$(dirname "$0")/common.sh"
enter_work
awk -v v="$V" 'BEGIN { srand(3);
    for (i = 0; i < 64; i++) {
        len = 1 + int(rand() * 60); ids = "";
        for (j = 0; j < len; j++) ids = ids (j ? "," : "") int(rand() * v);
        printf "{\"id\": \"r%d\", \"prompt_token_ids\": [%s], \"max_tokens\": %d}\n", i, ids, 1 + int(rand() * 40);
    } }' > in.jsonl
ARGS=(model -n 64 --input-format jsonl -i in.jsonl)

check "single-rank run" to_log ref.log timeout "$RUN_TIMEOUT" "$GETP" "${ARGS[@]}" -o ref.jsonl
for np in 2 3 4 8; do
    run_np $np "$GETP" "${ARGS[@]}" -o o$np.jsonl > b$np.log 2>&1
    check "-np $np identical" cmp ref.jsonl o$np.jsonl
    # rank R: requests N work W vs_ideal P% ...
    if awk -v np=$np '/^rank [0-9]+: requests/ { w[n++] = $6; t += $6 }
        END {
            if (n != np) { print "  expected " np " rank lines, got " n; exit 1 }
            ideal = t / np; bad = 0;
            for (i = 0; i < n; i++) {
                d = (w[i] - ideal) / ideal; if (d < 0) d = -d;
                printf "  -np %d rank %d work %d ideal %.1f off %.1f%%\n", np, i, w[i], ideal, 100 * d;
                if (d > 0.10) bad = 1;
            }
            exit bad }' b$np.log; then
        pass "-np $np per-rank work within 10% of ideal"
    else
        fail "-np $np per-rank work within 10% of ideal"
    fi
    grep '^imbalance' b$np.log
done
finish
