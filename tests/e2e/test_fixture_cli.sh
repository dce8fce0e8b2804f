#!/usr/bin/env bash
# test_fixture_cli.sh: the getp program against the HF transformers fixture,
# through token-id input (JSONL prompt_token_ids) and -m logits.
#   test_fixture_cli.sh BUILD_DIR FIXTURE_DIR WORK_DIR [cpu|gpu]
set -uo pipefail
build=$1 fix=$2 work=$3 backend=${4:-cpu}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
status=0
for mi in 0 1; do
  gen_args=$("$build/fixture_cli" prepare "$fix" $mi m$mi.jsonl) || exit 1
  # shellcheck disable=SC2086
  "$build/getp-model-gen" $gen_args --out model$mi > /dev/null || exit 1
  "$build/getp" model$mi --backend "$backend" -m logits --logits-dir lg$mi -i m$mi.jsonl -o m$mi.out \
    -n 4096 --ignore-eos > m$mi.log 2>&1 || { cat m$mi.log; exit 1; }
  echo "== model $mi ($gen_args), $backend backend"
  "$build/fixture_cli" check "$fix" $mi lg$mi m$mi.out "$backend" | tee m$mi.check || status=1
done
awk '/passed, .* failed/ {p += $1; f += $3} END {print p " passed, " f " failed"}' m*.check
exit $status
