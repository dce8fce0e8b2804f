#!/usr/bin/env bash
# test_cli.sh: getp end to end on the CPU backend, course format (docs/MODEL.md
# §5) and its edge cases, token-id input, -m logits, the tokenize/decode modes, the
# sampling flags and JSONL logprobs.
#   test_cli.sh BUILD_DIR RANK_FILE WORK_DIR
set -uo pipefail
build=$1 rank=$2 work=$3
getp=$build/getp gen=$build/getp-model-gen npy=$build/npy_argmax
rm -rf "$work" && mkdir -p "$work" && cd "$work"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# A tiny model with the full o200k vocabulary, so text prompts are valid ids.
$gen --preset tiny --vocab 201088 --hidden 64 --seed 3 --out model >/dev/null || { echo "model generation failed"; echo "0 passed, 1 failed"; exit 1; }
G="$getp model -z $rank --backend cpu"

printf '4\nHello world\nThe capital of France is\n1 2 3 4\nfoo bar baz\n' > lf.txt
$G -i lf.txt -o lf.out -n 24 > lf.log 2>&1; rc=$?
check "runs on a plain input" "[ $rc = 0 ] && [ \$(wc -l < lf.out) = 4 ]"
check "prints the timing lines" "grep -qi 'throughput' lf.log && grep -qi 'warm' lf.log"
# docs/MODEL.md §5: at most steps - n_prompt + 1 ids per request; exactly that with
# --ignore-eos.
$getp -m tokenize -i <(tail -n +2 lf.txt) -z $rank > lf.ids
$G -i lf.txt -o eos.out -n 24 --ignore-eos > /dev/null 2>&1
check "step bound (exactly steps - prompt + 1 with --ignore-eos)" \
  "paste -d'|' lf.ids eos.out | awk -F'|' '{np=split(\$1,a,\" \"); ng=split(\$2,b,\" \"); if (ng != 24-np+1) exit 1}'"
check "without --ignore-eos never more than the bound" \
  "paste -d'|' lf.ids lf.out | awk -F'|' '{np=split(\$1,a,\" \"); ng=split(\$2,b,\" \"); if (ng > 24-np+1) exit 1}'"

printf '4\r\nHello world\r\nThe capital of France is\r\n1 2 3 4\r\nfoo bar baz\r\n' > crlf.txt
$G -i crlf.txt -o crlf.out -n 24 > /dev/null 2>&1
check "CRLF input gives the same output as LF" "cmp -s lf.out crlf.out"

printf '3\nHello world\n\nfoo bar baz\n' > empty.txt
$G -i empty.txt -o empty.out -n 24 > /dev/null 2>&1; rc=$?
check "empty prompt line -> empty output line, others run" \
  "[ $rc = 0 ] && [ \"\$(sed -n 2p empty.out)\" = '' ] && [ -n \"\$(sed -n 1p empty.out)\" ] && [ -n \"\$(sed -n 3p empty.out)\" ]"

printf '5\nHello world\nfoo\n' > short.txt
$G -i short.txt -o short.out -n 24 > short.log 2>&1; rc=$?
check "fewer lines than the count: refused, names both counts" "[ $rc != 0 ] && grep -q '5 prompts' short.log && grep -q 'only 2' short.log"

printf 'abc\nHello\n' > badcount.txt
$G -i badcount.txt -o bad.out -n 24 > bad.log 2>&1; rc=$?
check "malformed count line: one clear error" "[ $rc != 0 ] && grep -q 'number of requests' bad.log"

printf '3\nHello world\nthis prompt is certainly longer than eight tokens of text, by far\nfoo\n' > long.txt
$G -i long.txt -o long.out -n 8 > long.log 2>&1; rc=$?
check "prompt longer than steps: error named, line empty, others run, exit 3 (some failed)" \
  "[ $rc = 3 ] && grep -q 'longer than the step bound' long.log && [ \"\$(sed -n 2p long.out)\" = '' ] && [ -n \"\$(sed -n 1p long.out)\" ] && [ \$(wc -l < long.out) = 3 ]"

{ echo 2; head -c 100000 /dev/zero | tr '\0' 'x' | sed 's/xxxxx/word /g'; echo; echo "Hello"; } > big.txt
$G -i big.txt -o big.out -n 32 > big.log 2>&1; rc=$?
check "100 KB line: no crash, reported as too long, the other request runs" \
  "[ $rc = 3 ] && [ \$(wc -l < big.out) = 2 ] && grep -q 'longer than the step bound' big.log && [ -n \"\$(sed -n 2p big.out)\" ]"

# Token-id input gives the same output as the equivalent text input.
{ echo 4; cat lf.ids; } > ids.txt
$getp model --backend cpu --input-format ids -i ids.txt -o ids.out -n 24 > /dev/null 2>&1; rc=$?
check "ids input == text input (no tokenizer needed)" "[ $rc = 0 ] && cmp -s ids.out lf.out"
printf '3\n1 2 3\n5 999999 7\n4 x 5\n' > badids.txt
$getp model --backend cpu --input-format ids -i badids.txt -o badids.out -n 24 > badids.log 2>&1; rc=$?
check "out-of-range and malformed id lines reported with their line" \
  "[ $rc = 3 ] && grep -q ':3: token id 999999 out of range' badids.log && grep -q ':4: expected a token id' badids.log && [ -n \"\$(sed -n 1p badids.out)\" ]"

# -m logits: .npy per request, shape (n_prompt, V), argmax of the last row = first generated id.
$G -m logits --logits-dir lg -i lf.txt -o lg.out -n 24 > /dev/null 2>&1; rc=$?
check "-m logits writes the continuation" "[ $rc = 0 ] && cmp -s lg.out lf.out"
i=0; good=1
while read -r ids; do
  np=$(echo "$ids" | wc -w); first=$(sed -n "$((i + 1))p" lf.out | cut -d' ' -f1)
  read -r r c am < <($npy lg/request_$i.npy) || { good=0; break; }
  [ "$r" = "$np" ] && [ "$c" = 201088 ] && [ "$am" = "$first" ] || { good=0; echo "  request $i: shape $r x $c argmax $am, expected $np x 201088 argmax $first"; }
  i=$((i + 1))
done < lf.ids
check "logits .npy shape and last-row argmax" "[ $good = 1 ] && [ $i = 4 ]"

# tokenize / decode round trip, including JSON lines with a newline inside.
printf '"line one\\nline two"\n"caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac\\ttab"\n' > j.txt
$getp -m tokenize --json-lines -i j.txt -z $rank > j.ids && $getp -m decode --json-lines -i j.ids -z $rank > j.back
check "tokenize/decode --json-lines round trip" "cmp -s j.txt j.back"

# Decoded bytes that are not UTF-8 (a random model writes them) still give JSON lines.
printf 'ok \xc3\n\xff\xfe tail\n' > raw.txt
$getp -m tokenize -i raw.txt -z $rank > raw.ids && $getp -m decode --json-lines -i raw.ids -z $rank > raw.json; rc=$?
printf '"ok \xef\xbf\xbd"\n"\xef\xbf\xbd\xef\xbf\xbd tail"\n' > raw.expect
check "decode --json-lines of invalid UTF-8: U+FFFD, exit 0" "[ $rc = 0 ] && cmp -s raw.json raw.expect"
$getp -m decode -i raw.ids -z $rank > raw.back
check "plain decode round-trips the raw bytes" "cmp -s raw.txt raw.back"

# Sampling flags: -k and --min-p run; the same seed gives the same output.
$G -i lf.txt -o smp1.out -n 24 -t 1.0 -p 0.9 -k 40 --min-p 0.05 -s 7 > /dev/null 2>&1; rc1=$?
$G -i lf.txt -o smp2.out -n 24 -t 1.0 -p 0.9 -k 40 --min-p 0.05 -s 7 > /dev/null 2>&1; rc2=$?
check "-k / --min-p run; same seed, same output" \
  "[ $rc1 = 0 ] && [ $rc2 = 0 ] && [ \$(wc -l < smp1.out) = 4 ] && cmp -s smp1.out smp2.out"
$G -m generate -i "Hello world" -n 12 -t 1.0 -k 5 --min-p 0.1 -s 3 > gen.out 2> gen.log; rc=$?
check "generate mode takes -k / --min-p" "[ $rc = 0 ] && grep -q '^Hello world' gen.out && grep -q 'tok/s' gen.log"
check "generate reports time to first token and decode rate" \
  "grep -Eq 'time to first token [0-9]+[.][0-9] ms; decode [0-9]+[.][0-9]+ tok/s' gen.log" gen.log
# A bad sampling flag: one error line naming the flag, nothing written.
good=1
for args in "-k -1" "-k 2.5" "-k x" "-k 99999999999" "--min-p 1.5" "--min-p -0.1" "--min-p nan" "--min-p x" \
            "-t -1" "-t nan" "-t hot" "-p 0" "-p 1.5" "-p nan" "--top-k=-3" "-k"; do
  rm -f flag.out
  # shellcheck disable=SC2086
  $G -i lf.txt -o flag.out -n 24 $args > flag.log 2>&1; rc=$?
  flag=${args%% *}; flag=${flag%%=*}
  if [ $rc = 0 ] || [ "$(grep -c . flag.log)" != 1 ] || ! grep -q -- "$flag" flag.log || [ -e flag.out ]; then
    good=0; echo "  '$args': rc $rc: $(cat flag.log)"
  fi
done
check "bad -k / --min-p / -t / -p: one error line naming the flag" "[ $good = 1 ]"

# JSONL with sampling options and logprobs through the engine: shapes, and per-line errors.
cat > lp.jsonl <<'EOF'
{"id":"a","prompt":"Hello world","max_tokens":4,"logprobs":true,"top_logprobs":3}
{"id":"b","prompt":"Hello world","max_tokens":4,"top_k":-1}
{"id":"c","prompt":"Hello world","max_tokens":4,"logprobs":2,"temperature":1.0,"top_k":40,"min_p":0.05,"seed":3}
{"id":"d","prompt":"Hello world","max_tokens":4}
{"id":"e","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"logprobs":true}
{"id":"f","prompt":"Hello world","max_tokens":4,"top_logprobs":2}
EOF
$G -i lp.jsonl -o lp.out -n 160 > lp.log 2>&1; rc=$?  # chats open with the template's system message (~70 tokens)
check "JSONL with sampling options runs (exit 3: two lines are errors)" "[ $rc = 3 ] && [ \$(wc -l < lp.out) = 6 ]"
cat > lp_check.py <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
a, b, c, d, e, f = rows
for r, k in ((a, 3), (c, 2), (e, 0)):
    content = r["logprobs"]["content"]
    assert len(content) == len(r["token_ids"]) == r["usage"]["completion_tokens"] > 0, r["id"]
    for x, i in zip(content, r["token_ids"]):
        assert x["id"] == i and isinstance(x["bytes"], list) and len(x["top_logprobs"]) == k, r["id"]
        assert x["token"] == bytes(x["bytes"]).decode("utf-8", "replace"), r["id"]
assert b["finish_reason"] == "error" and b["error"].startswith("line 2:") and '"top_k"' in b["error"]
assert f["finish_reason"] == "error" and f["error"].startswith("line 6:") and '"top_logprobs"' in f["error"]
assert "logprobs" not in d
# asking for logprobs changes nothing else (a and d: the same greedy request)
del a["logprobs"]
assert {k: v for k, v in a.items() if k not in ("id", "index")} == {k: v for k, v in d.items() if k not in ("id", "index")}
EOF
check "JSONL logprobs: one entry per id, per-line errors, nothing else changed" "python3 lp_check.py lp.out"

# Bad model files are one clear line, not a crash.
head -c 1000 model/model.safetensors > model/trunc.bin
$getp model/trunc.bin -i lf.txt -o x.out -z $rank > trunc.log 2>&1; rc=$?
check "truncated model: clear error" "[ $rc != 0 ] && [ \$(grep -c . trunc.log) -le 2 ] && ! grep -qi 'segmentation\\|abort\\|core' trunc.log"

echo "$pass passed, $fail failed"
[ $fail = 0 ]
