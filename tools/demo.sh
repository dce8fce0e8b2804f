#!/usr/bin/env bash
# demo.sh: set up and run getp's main job on a built-in default, on a fresh machine.
#
#   tools/demo.sh              install Debian deps (if root and missing), build,
#                              generate a tiny random model (full o200k vocab) and the
#                              tokenizer, run getp on examples/prompts.txt over MPI
#                              (2 ranks), print the decoded outputs, then run a small
#                              chat JSONL (reasoning effort, a function tool, a tool
#                              call and its result) and print its records.
#
# The model's weights are random: the text it writes is gibberish by design;
# what the demo shows is the whole path (tokenize, split, scatter, engine,
# gather, write, decode). Env: NP (ranks, default 2), STEPS (default 48),
# GETP_GPU (none|cuda|hip, default none).
set -euo pipefail
cd "$(dirname "$0")/.."
np=${NP:-2}
steps=${STEPS:-48}
gpu=${GETP_GPU:-none}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

if ! command -v mpirun >/dev/null 2>&1 || [ ! -f /usr/include/pcre2.h ] || [ ! -f /usr/include/jansson.h ]; then
  if [ "$(id -u)" = 0 ]; then bash tools/install_deps.sh; else
    echo "demo: missing build dependencies: run tools/install_deps.sh as root" >&2; exit 1; fi
fi
cmake -S . -B build -G Ninja -DGETP_GPU="$gpu" >/dev/null
ninja -C build getp getp-model-gen >/dev/null
mkdir -p models data out
[ -f data/o200k_harmony.tiktoken ] || bash tools/setup_tokenizer.sh data
[ -f models/tiny-o200k/config.json ] ||
  build/getp-model-gen --preset tiny --vocab 201088 --seed 1 --out models/tiny-o200k
echo "demo: running getp on examples/prompts.txt with $np ranks"
mpirun --oversubscribe -np "$np" build/getp models/tiny-o200k -i examples/prompts.txt \
  -o out/demo.txt -z data/o200k_harmony.tiktoken -n "$steps"
echo "demo: decoded outputs (random weights, so gibberish):"
build/getp -m decode -i out/demo.txt -z data/o200k_harmony.tiktoken --json-lines

# Chats, rendered as the gpt-oss chat template renders them (docs/io_formats.md, "Chats").
tool='{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}'
cat > out/demo_chat.jsonl <<JSONL
{"id": "effort", "messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Why is the sky blue?"}], "reasoning_effort": "high", "max_tokens": 16}
{"id": "tool", "messages": [{"role": "user", "content": "Weather in Oslo?"}], "tools": [$tool], "reasoning_effort": "low", "max_tokens": 16}
{"id": "result", "messages": [{"role": "user", "content": "Weather in Oslo?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "-3 C, snow"}], "tools": [$tool], "max_tokens": 16}
{"id": "bad", "messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "extreme"}
JSONL
echo "demo: the rendered chat prompts, date fixed (-m tokenize, then -m decode; the last line is bad on purpose):"
build/getp -m tokenize -i out/demo_chat.jsonl -z data/o200k_harmony.tiktoken --date 2025-08-05 \
  > out/demo_chat.ids || true
grep -v error out/demo_chat.ids | tr -d '[]' | tr ',' ' ' |
  build/getp -m decode -z data/o200k_harmony.tiktoken --json-lines
echo "demo: running getp on out/demo_chat.jsonl (random weights: the records show the fields, not sense)"
# exit status 3: the run finished and some requests failed (here the bad line, on purpose)
rc=0
mpirun --oversubscribe -np "$np" build/getp models/tiny-o200k -i out/demo_chat.jsonl \
  -o out/demo_chat.out.jsonl -z data/o200k_harmony.tiktoken -n 512 --date 2025-08-05 || rc=$?
[ "$rc" = 3 ] || { echo "demo: the chat run exited $rc, expected 3 (one bad line)" >&2; exit 1; }
cat out/demo_chat.out.jsonl
