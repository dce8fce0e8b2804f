#!/usr/bin/env bash
# test_hostile.sh: getp against hostile and careless input (issue 17, rows
# F1-F11), end to end on the CPU backend. Each case states what a user must
# get: one clear error line and nothing destroyed, or every request answered.
#   test_hostile.sh BUILD_DIR RANK_FILE WORK_DIR
# Exit status of getp (README "Exit status"): 0 all ran, 3 some requests
# failed, 1 the run failed, 2 a bad command line.
set -uo pipefail
build=$(readlink -f "$1") rank=$(readlink -f "$2") work=$3
getp=$build/getp gen=$build/getp-model-gen
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1"; for f in ${3:-}; do sed 's/^/    /' "$f" | head -5; done; fi; }
T="timeout 60" # a hang fails the case

# One small model (vocabulary 1024: fast, also under ASan). Text prompts are digits,
# spaces and punctuation, whose o200k ids are all below 1024 ("1 2 3" = 16 220 17 220 18);
# words ("Hello") give ids outside it (the F11 cases).
$gen --preset tiny --seed 7 --out small > /dev/null || { echo "model generation failed"; exit 1; }
V=$(grep -o '"vocab_size"[^,}]*' small/config.json | grep -o '[0-9]*$')
# ids_lines N SEED [MAXLEN]: N lines of 1 to MAXLEN (default 6) ids below V
ids_lines() { awk -v n="$1" -v s="$2" -v m="${3:-6}" -v v="$V" 'BEGIN { srand(s); for (i = 0; i < n; i++) {
  k = 1 + int(rand() * m); l = ""; for (j = 0; j < k; j++) l = l (j ? " " : "") int(rand() * v); print l } }'; }
cp "$rank" tok.tiktoken
{ echo 3; ids_lines 3 4; } > r3.ids
G="$T $getp small -z tok.tiktoken --backend cpu -n 8"
S="$T $getp small --backend cpu -n 8"
export OMP_NUM_THREADS=1 # tiny models: threads cost more than they give on a shared machine
one_line_err() { [ "$(grep -c '^getp: ' "$1")" = 1 ]; } # exactly one "getp: ..." line

# ---- F1: -o naming an input is refused before anything is opened for writing
printf '2\n1 2 3\n4, 5.\n' > in.txt && cp in.txt in.keep
ln -s in.txt in.sym && ln in.txt in.hard
for o in in.txt in.sym in.hard ./in.txt; do
  $G -i in.txt -o "$o" > f1.log 2>&1; rc=$?
  check "F1 -o $o (the input): refused, exit 1, input untouched" \
    "[ $rc = 1 ] && grep -q 'same file as the input' f1.log && one_line_err f1.log && cmp -s in.txt in.keep" f1.log
done
printf '{"id": 1, "prompt": "1 2"}\n' > j.jsonl && cp j.jsonl j.keep
$G -i j.jsonl -o j.jsonl > f1.log 2>&1; rc=$?
check "F1 JSONL -o = -i: refused, input untouched" "[ $rc = 1 ] && cmp -s j.jsonl j.keep" f1.log
md5=$(md5sum < small/model.safetensors)
$G -i in.txt -o small/model.safetensors > f1.log 2>&1; rc=$?
check "F1 -o = a model file: refused, model untouched" \
  "[ $rc = 1 ] && grep -q 'same file as the model' f1.log && [ \"\$(md5sum < small/model.safetensors)\" = \"$md5\" ]" f1.log
cp small/config.json cfg.keep
$G -i in.txt -o small/config.json > f1.log 2>&1; rc=$?
check "F1 -o = the model's config.json: refused, untouched" "[ $rc = 1 ] && cmp -s small/config.json cfg.keep" f1.log
$G -i in.txt -o tok.tiktoken > f1.log 2>&1; rc=$?
check "F1 -o = the tokenizer file: refused, untouched" \
  "[ $rc = 1 ] && grep -q 'same file as the tokenizer' f1.log && cmp -s tok.tiktoken $rank" f1.log
$G -i in.txt -o in.txt --resume > f1.log 2>&1; rc=$?
check "F1 -o = -i with --resume: refused, input untouched" "[ $rc = 1 ] && cmp -s in.txt in.keep" f1.log

# ---- F2: input through a pipe, a FIFO, /dev/stdin: every request answered
# 40 requests of ~140 bytes: past the 4 KB the old detection read before reopening the path
pad=$(printf 'request-%.0s' $(seq 12))
{ for i in $(seq 0 39); do printf '{"id": "%s%03d", "prompt_token_ids": [%s], "max_tokens": 1}\n' "$pad" $i \
    "$(ids_lines 1 $i 2 | tr ' ' ',')"; done; } > many.jsonl
$S -i many.jsonl -o many.ref > /dev/null 2>&1; rc=$?
check "F2 reference: 40 JSONL requests, more than 4 KB, from a file" \
  "[ $rc = 0 ] && [ \$(wc -l < many.ref) = 40 ] && [ \$(wc -c < many.jsonl) -gt 4096 ]"
$S -i <(cat many.jsonl) -o many.p1 > p1.log 2>&1; rc=$?
check "F2 JSONL through -i <(...): the same 40 results" "[ $rc = 0 ] && cmp -s many.ref many.p1" p1.log
cat many.jsonl | $S -i /dev/stdin -o many.p2 > p2.log 2>&1; rc=$?
check "F2 JSONL through /dev/stdin: the same 40 results" "[ $rc = 0 ] && cmp -s many.ref many.p2" p2.log
mkfifo in.fifo && { cat many.jsonl > in.fifo & }
$S -i in.fifo -o many.p3 > p3.log 2>&1; rc=$?
wait
check "F2 JSONL through a FIFO: the same 40 results" "[ $rc = 0 ] && cmp -s many.ref many.p3" p3.log
{ echo 40; ids_lines 40 5 2; } > many.ids
$S -n 3 --input-format ids -i many.ids -o ids.ref > /dev/null 2>&1; rc=$?
check "F2 reference: 40 course ids requests from a file" "[ $rc = 0 ] && [ \$(wc -l < ids.ref) = 40 ]"
$S -n 3 --input-format ids -i <(cat many.ids) -o ids.p > ids.log 2>&1; rc=$?
check "F2 course ids through a pipe: the same 40 results" "[ $rc = 0 ] && cmp -s ids.ref ids.p" ids.log
printf '3\n1 2 3\n4 5\n6, 7. 8!\n' > t3.txt
$G -i t3.txt -o t3.ref > /dev/null 2>&1
$G -i <(cat t3.txt) -o t3.p > t3.log 2>&1; rc=$?
check "F2 course text through a pipe (detected): same results" "[ $rc = 0 ] && cmp -s t3.ref t3.p" t3.log
{ echo 10; ids_lines 4 9; } > short.ids
$S --input-format ids -i <(cat short.ids) -o short.p > short.log 2>&1; rc=$?
check "F2 short course input through a pipe: exit 1 at the end, both counts named, 4 results kept" \
  "[ $rc = 1 ] && grep -q 'says 10 prompts but the input ended after 4' short.log && [ \$(wc -l < short.p) = 4 ]" short.log
$S --input-format ids -i short.ids -o short.f > shortf.log 2>&1; rc=$?
check "F2 short course file: refused up front, no output created" \
  "[ $rc = 1 ] && grep -q 'only 4 prompt lines follow' shortf.log && [ ! -e short.f ]" shortf.log

# ---- F3: a Batch file of token-id prompts without -z
printf '{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"prompt": [1, 2, 3], "max_tokens": 3}}\n' > b.jsonl
$S -i b.jsonl -o b.out > b.log 2>&1; rc=$?
check "F3 Batch without -z: refused up front (needs the tokenizer), no output" \
  "[ $rc = 1 ] && grep -q 'needs the' b.log && grep -q -- '-z' b.log && [ ! -e b.out ]" b.log

# ---- F4 and every detection path: what the output looks like tells the format used
is_jsonl_out() { python3 -c 'import json,sys
for l in open(sys.argv[1]): r = json.loads(l); assert "index" in r and "finish_reason" in r and "custom_id" not in r' "$1"; }
is_batch_out() { python3 -c 'import json,sys
for l in open(sys.argv[1]): r = json.loads(l); assert r["custom_id"] is not None and r["response"]["status_code"] == 200' "$1"; }
is_course_out() { ! grep -q '[^0-9 ]' "$1"; }
detect() { # detect NAME EXPECT ARGS...: run, then check the output format
  local name=$1 want=$2; shift 2
  $G "$@" -o "$name.out" > "$name.log" 2>&1; local rc=$?
  check "detect $name: $want output, exit 0" "[ $rc = 0 ] && is_${want}_out $name.out" "$name.log"
}
printf '2\n1 2\n3.\n' > d_text.txt
detect text course -i d_text.txt
printf '2\n9 906 19\n132\n' > d_ids.txt
detect ids_flag course -i d_ids.txt --input-format ids
printf '{"id": 1, "prompt": "1 2"}\n{"id": 2, "prompt": "3 4"}\n' > d_jsonl.jsonl
detect jsonl jsonl -i d_jsonl.jsonl
printf '\xef\xbb\xbf{"id": 1, "prompt": "1 2"}\n' > d_bom.jsonl
detect bom_jsonl jsonl -i d_bom.jsonl
printf '\xef\xbb\xbf2\n1 2\n3\n' > d_bom.txt
detect bom_text course -i d_bom.txt
printf '\n  \n\t\r\n{"id": 1, "prompt": "1 2"}\n\n{"id": 2, "prompt": "3 4"}\n' > d_blank.jsonl
detect blank_lines_jsonl jsonl -i d_blank.jsonl
printf '{"id": 1, "prompt": "1 2", "metadata": {"custom_id": "not-batch"}}\n' > d_nested.jsonl
detect nested_custom_id jsonl -i d_nested.jsonl
BATCH_BODY='"method": "POST", "url": "/v1/completions", "body": {"prompt": "1 2", "max_tokens": 2}'
printf '{"custom_id": "r1", %s}\n' "$BATCH_BODY" > d_batch.jsonl
detect batch batch -i d_batch.jsonl
printf '{%s, "custom_id": "r1"}\n' "$BATCH_BODY" > d_late.jsonl
detect custom_id_last batch -i d_late.jsonl
pad=$(head -c 6000 /dev/zero | tr '\0' 'x')
printf '{"body": {"user": "%s", "prompt": "1 2", "max_tokens": 2}, "method": "POST", "url": "/v1/completions", "custom_id": "r1"}\n' "$pad" > d_far.jsonl
detect custom_id_after_6kb batch -i d_far.jsonl
printf '{"id": 1, "prompt": "1 2\n{"custom_id": "r1", %s}\n' "$BATCH_BODY" > d_broken1.jsonl
$G -i d_broken1.jsonl -o d_broken1.out > d_broken1.log 2>&1; rc=$?
check "detect: line 1 broken JSON, line 2 Batch: Batch output, line 1 an error record (exit 3)" \
  "[ $rc = 3 ] && [ \$(wc -l < d_broken1.out) = 2 ] && grep -q '\"code\":\"invalid_request\"' d_broken1.out && tail -n 1 d_broken1.out | grep -q '\"status_code\":200'" d_broken1.log
cat d_batch.jsonl | $G -i /dev/stdin -o d_pipe_batch.out > d_pipe.log 2>&1; rc=$?
check "detect through a pipe: Batch" "[ $rc = 0 ] && is_batch_out d_pipe_batch.out" d_pipe.log
$G -i <(cat d_bom.jsonl) -o d_pipe_bom.out > d_pipe.log 2>&1; rc=$?
check "detect through a pipe: BOM + JSONL" "[ $rc = 0 ] && is_jsonl_out d_pipe_bom.out" d_pipe.log

# ---- F5: invalid rope parameters refused at load; non-finite logits are per-request errors
for bad_rope in '"rope_theta": 1.0' '"rope_theta": 0.5' '"rope_scaling_factor": 0' '"rope_scaling_factor": -2'; do
  rm -rf rope rope.out && cp -r small rope
  key=${bad_rope%%:*}
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); k,v=sys.argv[2].split(":"); c[json.loads(k)]=json.loads(v)
json.dump(c, open(sys.argv[1], "w"))' rope/config.json "$bad_rope"
  $T $getp rope --backend cpu -n 8 --input-format ids -i many.ids -o rope.out > rope.log 2>&1; rc=$?
  check "F5 $bad_rope: refused at load, named, no output" \
    "[ $rc = 1 ] && grep -q ${key//\"/} rope.log && one_line_err rope.log && [ ! -e rope.out ]" rope.log
done
# NaN weights: every logit NaN; MXFP4 scale byte 0xFF: refused at load
patch_st() { # patch_st DIR TENSOR BYTES_HEX: overwrite the first bytes of a tensor's data
  python3 - "$@" <<'EOF'
import json, struct, sys
d, name, hexbytes = sys.argv[1:4]
f = open(d + "/model.safetensors", "r+b")
n = struct.unpack("<Q", f.read(8))[0]
h = json.loads(f.read(n))
f.seek(8 + n + h[name]["data_offsets"][0])
f.write(bytes.fromhex(hexbytes))
EOF
}
rm -rf nanw && cp -r small nanw && patch_st nanw norm.scale c07fc07f
printf '{"id": 1, "prompt_token_ids": [1, 2, 3]}\n{"id": 2, "prompt_token_ids": [4]}\n' > nan.jsonl
$T $getp nanw --backend cpu -n 8 -i nan.jsonl -o nan.out > nan.log 2>&1; rc=$?
check "F5 NaN weights: each request an error record, no tokens, exit 3, reported" \
  "[ $rc = 3 ] && [ \$(grep -c '\"finish_reason\":\"error\"' nan.out) = 2 ] && grep -q '\"token_ids\":\[\]' nan.out && grep -q 'not finite' nan.log && grep -q '^requests: 2 (2 errors' nan.log" nan.log
$T $getp nanw --backend cpu -n 8 --input-format ids -i r3.ids -o nan2.out > nan2.log 2>&1; rc=$?
check "F5 NaN weights, course output: 3 empty lines (no tokens), exit 3" \
  "[ $rc = 3 ] && [ \$(wc -l < nan2.out) = 3 ] && [ -z \"\$(tr -d '\n' < nan2.out)\" ]" nan2.log
$T $getp nanw -z tok.tiktoken --backend cpu -n 8 -m generate -i 12 > nang.log 2>&1; rc=$?
check "F5 NaN weights, -m generate: no tokens, exit 3, reported" \
  "[ $rc = 3 ] && grep -q 'not finite' nang.log && ! grep -q 'tok/s' nang.log" nang.log
rm -rf nans && cp -r small nans && patch_st nans block.0.mlp.mlp1_weight.scales 7fff
$T $getp nans --backend cpu -n 8 --input-format ids -i many.ids -o nans.out > nans.log 2>&1; rc=$?
check "F5 MXFP4 scale byte 0xFF: refused at load, the tensor named" \
  "[ $rc = 1 ] && grep -q 'mlp1_weight.scales.*0xFF' nans.log && one_line_err nans.log" nans.log

# ---- F6: the count line
printf '\n2\n1 2\n3\n' > blank.txt
$G -i blank.txt -o blank.out > blank.log 2>&1; rc=$?
check "F6 blank first line: refused naming line 1, no output" \
  "[ $rc = 1 ] && grep -q 'blank.txt:1: .*blank' blank.log && [ ! -e blank.out ]" blank.log
printf '2\0garbage\n1 2\n3\n' > nul.txt
$G -i nul.txt -o nul.out > nul.log 2>&1; rc=$?
check "F6 '2\\\\0garbage' count line: refused naming line 1 and showing the NUL" \
  "[ $rc = 1 ] && grep -q 'nul.txt:1: .*2\\\\x00garbage' nul.log && [ ! -e nul.out ]" nul.log
for c in '-2' '+2' '2 3' '99999999999999999999' ''; do
  printf '%s\n1 2\n3\n' "$c" > cnt.txt && rm -f cnt.out
  $G -i cnt.txt -o cnt.out > cnt.log 2>&1; rc=$?
  check "F6 count line '$c': refused" "[ $rc = 1 ] && grep -q 'cnt.txt:1:' cnt.log && [ ! -e cnt.out ]" cnt.log
done
: > empty.txt
$G -i empty.txt -o empty.out > empty.log 2>&1; rc=$?
check "F6 empty input file: refused" "[ $rc = 1 ] && grep -q 'empty' empty.log && [ ! -e empty.out ]" empty.log

# ---- F7: numeric flags: negative, overflowing, not numbers
for flag in '-s -1' '-s 18446744073709551616' '-s +5' '-s 1e3' '-n -1' '-n 99999999999999999999' \
            '-t nan' '-t -1' '-p 0' '-p 1.5' '--batch -5' '--batch 0'; do
  rm -f f7.out
  # shellcheck disable=SC2086
  $T $getp small --backend cpu --input-format ids -i many.ids -o f7.out $flag > f7.log 2>&1; rc=$?
  check "F7 $flag: refused (exit 2), no output" "[ $rc = 2 ] && one_line_err f7.log && [ ! -e f7.out ]" f7.log
done
$S -s 18446744073709551615 -t 1 --input-format ids -i r3.ids -o seed.out > /dev/null 2>&1
check "F7 -s 2^64-1 is accepted" "[ -s seed.out ]"

# ---- F8: FIFOs and directories where files belong: refused, never waited on
rm -rf fifo_st && cp -r small fifo_st && mkfifo fifo_st/extra.safetensors
$T $getp fifo_st --backend cpu -n 8 --input-format ids -i many.ids -o f8.out > f8.log 2>&1; rc=$?
check "F8 FIFO named *.safetensors in the model directory: refused, named" \
  "[ $rc = 1 ] && grep -q 'extra.safetensors is not a regular file' f8.log" f8.log
rm -rf fifo_cfg && cp -r small fifo_cfg && rm fifo_cfg/config.json && mkfifo fifo_cfg/config.json
$T $getp fifo_cfg --backend cpu -n 8 --input-format ids -i many.ids -o f8.out > f8.log 2>&1; rc=$?
check "F8 FIFO config.json: refused, named" "[ $rc = 1 ] && grep -q 'config.json is not a regular file' f8.log" f8.log
mkfifo model.bin
$T $getp model.bin --backend cpu -n 8 --input-format ids -i many.ids -o f8.out > f8.log 2>&1; rc=$?
check "F8 FIFO as the course .bin model: refused" "[ $rc = 1 ] && grep -q 'model.bin is not a regular file' f8.log" f8.log
mkfifo out.fifo
$S --input-format ids -i many.ids -o out.fifo > f8.log 2>&1; rc=$?
check "F8 -o FIFO: refused" "[ $rc = 1 ] && grep -q 'out.fifo is not a regular file' f8.log" f8.log
mkdir -p adir
$S --input-format ids -i adir -o dir.out > f8.log 2>&1; rc=$?
check "F11 -i DIR: reported as a directory, no output" \
  "[ $rc = 1 ] && grep -q 'input adir is a directory' f8.log && [ ! -e dir.out ]" f8.log
$S --input-format ids -i many.ids -o adir > f8.log 2>&1; rc=$?
check "F8 -o DIR: refused" "[ $rc = 1 ] && grep -q 'adir is not a regular file' f8.log" f8.log

# ---- F9: GETP_ROUND_SIZE
for v in 99999999999999999999 0 -5 abc 1048577; do
  rm -f f9.out
  GETP_ROUND_SIZE=$v $S --input-format ids -i r3.ids -o f9.out > f9.log 2>&1; rc=$?
  check "F9 GETP_ROUND_SIZE=$v: refused with a message" \
    "[ $rc = 1 ] && grep -q 'GETP_ROUND_SIZE must be' f9.log && [ ! -e f9.out ]" f9.log
done
GETP_ROUND_SIZE=1048576 $S -n 3 --input-format ids -i many.ids -o f9.out > f9.log 2>&1; rc=$?
check "F9 GETP_ROUND_SIZE=1048576 with 40 requests: runs, same results" "[ $rc = 0 ] && cmp -s ids.ref f9.out" f9.log

# ---- F11: errors counted, exit status, --resume on a foreign output, nothing created early
printf '3\nHello world\nThe sky is\nOne two three\n' > oov.txt
$T $getp small -z tok.tiktoken --backend cpu -n 12 -i oov.txt -o oov.out > oov.log 2>&1; rc=$?
check "F11 text ids outside the model's vocabulary: errors counted, exit 3, empty lines" \
  "[ $rc = 3 ] && grep -q '^requests: 3 (3 errors' oov.log && grep -q 'outside the model.s vocabulary' oov.log && [ \$(wc -l < oov.out) = 3 ] && [ -z \"\$(tr -d '\n' < oov.out)\" ]" oov.log
printf '{"id": 1, "prompt": "Hello"}\n{"id": 2, "messages": [{"role": "user", "content": "1"}]}\n' > w.jsonl
$T $getp small -z tok.tiktoken --backend cpu -n 12 -i w.jsonl -o oov.jsonl > oovj.log 2>&1; rc=$?
check "F11 JSONL text outside the vocabulary: error records, exit 3" \
  "[ $rc = 3 ] && [ \$(grep -c 'outside the model.s vocabulary' oov.jsonl) = 2 ]" oovj.log
printf '2\n1 2\n3 999999\n' > mixed.ids
$S --input-format ids -i mixed.ids -o mixed.out > mixed.log 2>&1; rc=$?
check "F11 one bad request of two: exit 3, '1 errors'" "[ $rc = 3 ] && grep -q '^requests: 2 (1 errors' mixed.log" mixed.log
$S --input-format ids -i r3.ids -o nowhere/x.out > nw.log 2>&1; rc=$?
check "exit 1 when the run fails (unwritable output)" "[ $rc = 1 ]" nw.log
$S --input-format ids -i missing.txt -o missing.out > miss.log 2>&1; rc=$?
check "F11 missing input: exit 1, no output file created" \
  "[ $rc = 1 ] && grep -q 'cannot open input missing.txt' miss.log && [ ! -e missing.out ]" miss.log
# --resume: an output longer than the input, or of another format
ids_lines 5 1 > long.out && cp long.out long.keep
$S --input-format ids -i r3.ids -o long.out --resume > r.log 2>&1; rc=$?
check "F11 --resume, course output with more lines than the input: refused, unchanged" \
  "[ $rc = 1 ] && grep -q 'holds 5 results but r3.ids has only 3' r.log && cmp -s long.out long.keep" r.log
head -n 5 many.ref > j5.out
$S -i <(head -n 3 many.jsonl) -o j5.out --resume > r.log 2>&1; rc=$?
check "F11 --resume, JSONL output longer than the input: refused at the end of the input" \
  "[ $rc = 1 ] && grep -q 'holds 5 results' r.log" r.log
head -n 2 many.ref > fmt.out && cp fmt.out fmt.keep
$S --input-format ids -i many.ids -o fmt.out --resume > r.log 2>&1; rc=$?
check "F11 --resume, a JSONL output for a course input: refused, unchanged" \
  "[ $rc = 1 ] && grep -q 'not a line of token ids' r.log && cmp -s fmt.out fmt.keep" r.log
head -n 2 ids.ref > fmt2.out && cp fmt2.out fmt2.keep
$S -i many.jsonl -o fmt2.out --resume > r.log 2>&1; rc=$?
check "F11 --resume, a course output for a JSONL input: refused, unchanged" \
  "[ $rc = 1 ] && grep -q 'not a JSON object' r.log && cmp -s fmt2.out fmt2.keep" r.log
sed -n '3,4p' many.ref > shifted.out
$S -i many.jsonl -o shifted.out --resume > r.log 2>&1; rc=$?
check "F11 --resume, JSONL records of other indices: refused" "[ $rc = 1 ] && grep -q 'another request index' r.log" r.log
head -n 7 many.ref > good.out && sed -n 8p many.ref | head -c 20 >> good.out
$S -i many.jsonl -o good.out --resume > r.log 2>&1; rc=$?
check "--resume of its own partial output still works" "[ $rc = 0 ] && cmp -s good.out many.ref" r.log

echo "$pass passed, $fail failed"
[ $fail = 0 ]
