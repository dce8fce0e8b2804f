#!/usr/bin/env bash
# test_progress.sh GETP MODELGEN WORKDIR: progress inside a round (app/progress.c).
#
# Every run is ONE round (the case that used to show nothing until the end):
#   bar     a singleton on a pseudo-terminal (script(1) from bsdutils): the bar
#           is redrawn in place ("\r[###...] ..."), at least twice before the
#           final report with fewer than all requests done, at most about once
#           an interval (0.25 s here, so a fast machine's short run still
#           redraws; at the default 1 s a 1.9 s run drew once and failed),
#           counts never going back, 100% at the end
#   json    2 ranks, --progress json, a JSONL input with blank lines: every
#           line is a JSON object; reports inside the round (0 < done < N);
#           done and tokens never go back; requests_total is N from the start;
#           the final object's tokens equal the report's gathered "tokens:"
#           (counted by another path: the final MPI_Gather of every rank)
#   lines   2 ranks under a pseudo-terminal: mpirun's ranks do not write to a
#           terminal, so plain "getp: progress:" lines, inside the round (and
#           the same ids as the bar's single-rank run: progress changes no result)
#   off     --progress off prints none; a bad mode is one error line
set -uo pipefail
GETP=$1 MODELGEN=$2 WORK=$3 # MODELGEN: used by common.sh
export MODELGEN
source "$(dirname "$0")/common.sh"
rm -rf "$WORK"
enter_work
N=48
make_ids in.ids $N 3 10 5 "$V"
make_ids bar.ids $((2 * N)) 3 10 6 "$V" # the bar's run: several redraws at BAR_INTERVAL
# JSONL: the same prompts, a blank line after every 10th
awk 'NR > 1 { ids = $0; gsub(/ /, ", ", ids);
  printf "{\"id\": \"r%d\", \"prompt_token_ids\": [%s]}\n", NR - 2, ids; if ((NR - 1) % 10 == 0) print "" }' \
    in.ids > in.jsonl
ARGS=(--backend cpu -n 24)
command -v script > /dev/null || { fail "script(1) (bsdutils) is missing"; finish; exit 1; }

# ---- bar on a pseudo-terminal
BAR_INTERVAL=0.25
timeout "$RUN_TIMEOUT" script -qfec \
    "$GETP model -i bar.ids -o bar.out --input-format ids ${ARGS[*]} --progress-interval $BAR_INTERVAL" /dev/null \
    > bar.tty 2>&1
rc=$?
check "bar: the run on a pseudo-terminal succeeded" [ $rc = 0 -a "$(wc -l < bar.out)" = $((2 * N)) ]
python3 - "$((2 * N))" bar.tty "$BAR_INTERVAL" << 'EOF' > bar.check
import re, sys
n, text = int(sys.argv[1]), open(sys.argv[2], "rb").read().decode("utf-8", "replace")
interval = float(sys.argv[3])
end = text.find("requests: ")
draws = [(m.start(), float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)))
         for m in re.finditer(r"\r\[[#.]{24}\] +([0-9.]+)%  (\d+)/(\d+) requests  (\d+) tokens", text)]
elapsed = float(re.search(r"elapsed: ([0-9.]+) s", text).group(1))
inside = [d for d in draws if d[0] < end and d[2] < n]
ok = end > 0 and len(inside) >= 2 and all(d[3] == n for d in draws)
ok = ok and all(a[2] <= b[2] and a[4] <= b[4] for a, b in zip(draws, draws[1:]))
ok = ok and draws and draws[-1][2] == n and draws[-1][1] == 100.0 and len(draws) <= elapsed / interval + 3
print("draws %d (%d inside the round before the report), elapsed %.1f s, last %s: %s"
      % (len(draws), len(inside), elapsed, draws[-1][2:] if draws else None, "ok" if ok else "BAD"))
EOF
check "bar: $(cat bar.check)" grep -q ': ok$' bar.check

# ---- JSON lines from 2 ranks
run_np 2 "$GETP" model -i in.jsonl -o json.out "${ARGS[@]}" --progress json --progress-interval 0.2 \
    > json.stdout 2> json.stderr
check "json: the run succeeded" [ "$(wc -l < json.out)" = $N ]
tokens=$(awk '/^tokens:/ { print $2 }' json.stdout)
python3 - "$N" "$tokens" json.stderr << 'EOF' > json.check
import json, sys
n, tokens = int(sys.argv[1]), int(sys.argv[2])
objs, bad = [], 0
for line in open(sys.argv[3]):
    if line.startswith("{"):
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad += 1
inside = [o for o in objs if not o["final"] and 0 < o["requests_done"] < n]
ok = bad == 0 and len(inside) >= 2 and all(o["requests_total"] == n for o in objs)
ok = ok and all(a["requests_done"] <= b["requests_done"] and a["tokens"] <= b["tokens"]
                and a["elapsed_s"] <= b["elapsed_s"] for a, b in zip(objs, objs[1:]))
last = objs[-1] if objs else {}
ok = ok and last.get("final") is True and last.get("requests_done") == n and last.get("tokens") == tokens
print("%d objects (%d unparsable, %d inside the round), final %s, report tokens %d: %s"
      % (len(objs), bad, len(inside), {k: last.get(k) for k in ("requests_done", "tokens")}, tokens,
         "ok" if ok else "BAD"))
EOF
check "json: $(cat json.check)" grep -q ': ok$' json.check

# ---- plain lines from 2 ranks under a pseudo-terminal
# (the bar's longer input and a short interval: on a loaded 2-core CI machine
# the 48-request run can be over within one 0.5 s interval)
timeout "$RUN_TIMEOUT" script -qfec "$MPIRUN ${MPI_FLAGS[*]} -np 2 $GETP model -i bar.ids -o lines.out \
    --input-format ids ${ARGS[*]} --progress-interval 0.2" /dev/null > lines.tty 2>&1
inside=$(awk -v n=$((2 * N)) '/^requests: / { exit } match($0, /getp: progress: [0-9]+\/[0-9]+ requests/) {
    split(substr($0, RSTART + 16), a, "/"); if (a[1] + 0 < n) k++ } END { print k + 0 }' lines.tty)
check "lines: $inside plain progress lines inside the round, before the report" [ "$inside" -ge 2 ]
check "lines: the output of 2 ranks is the bar's single-rank output" cmp -s lines.out bar.out

# ---- off, and a bad mode
run_np 2 "$GETP" model -i in.ids -o off.out --input-format ids "${ARGS[@]}" --progress off > off.log 2>&1
check "off: no progress printed" [ "$(grep -c 'progress' off.log)" = 0 -a "$(wc -l < off.out)" = $N ]
"$GETP" model -i in.ids -o bad.out --input-format ids "${ARGS[@]}" --progress=sometimes > bad.log 2>&1
check "a bad mode is refused in one line" [ $? -ne 0 -a "$(grep -c 'unknown progress mode' bad.log)" = 1 ]
finish
