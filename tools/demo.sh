#!/usr/bin/env bash
# demo.sh: set up and run getp's main job on a built-in default, on a fresh machine.
#
#   tools/demo.sh              install Debian deps (if root and missing), build,
#                              generate a tiny random model (full o200k vocab) and the
#                              tokenizer, run getp on examples/prompts.txt over MPI
#                              (2 ranks), and print the decoded outputs.
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
