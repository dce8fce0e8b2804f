#!/usr/bin/env bash
# test_check_paths.sh: check_paths.sh itself, on a throw-away tree: it passes
# when every citation exists and fails, naming the citation, when a cited file,
# directory or function disappears. Never touches the real tree.
#   bash tests/docs/test_check_paths.sh [REPO_ROOT]
set -u
here=$(cd "$(dirname "$0")" && pwd)
check=$here/check_paths.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
expect() { # expect 0|1 WHAT [GREP-PATTERN]: run the check, compare exit status and output
    local want=$1 what=$2 pat=${3:-}
    out=$(bash "$check" "$tmp" 2>&1); rc=$?
    [ $rc -ne 0 ] && rc=1
    if [ "$rc" = "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" <<<"$out"; }; then
        pass=$((pass + 1)); echo "PASS $what"
    else
        fail=$((fail + 1)); echo "FAIL $what (exit $rc)"; sed 's/^/    /' <<<"$out"
    fi
}

mkdir -p "$tmp/docs" "$tmp/src/sub" "$tmp/kernels" "$tmp/mpi" "$tmp/tools"
printf 'int thing_make(void) { return 1; }\n' > "$tmp/src/thing.c"
printf '__global__ void k(void) {}\nvoid launch_k (int n);\n' > "$tmp/kernels/k.hip"
: > "$tmp/src/sub/a.h"
cat > "$tmp/docs/ARCHITECTURE.md" <<'DOC'
# doc
`src/thing.c` and `thing_make()`, `launch_k()`, the folder `src/sub/`, the glob `src/sub/*.h`,
a bare name `k.hip`. Skipped: `src/model_<x>.c`, `$HOME/x.c`, `/tmp/none.c`, `a b/c.c`, `FOO`.
```
`src/not_checked_in_a_fence.c`
```
DOC
expect 0 "all citations exist" "6 passed, 0 failed"

mv "$tmp/src/thing.c" "$tmp/src/thing2.c"
expect 1 "renamed file is named" "path src/thing.c does not exist"
mv "$tmp/src/thing2.c" "$tmp/src/thing.c"

sed -i 's/thing_make/thing_build/' "$tmp/src/thing.c"
expect 1 "renamed function is named" "function thing_make() not found"
sed -i 's/thing_build/thing_make/' "$tmp/src/thing.c"

mv "$tmp/kernels/k.hip" "$tmp/kernels/k2.hip"
expect 1 "bare file name is searched in the tree" "file k.hip found nowhere"
mv "$tmp/kernels/k2.hip" "$tmp/kernels/k.hip"

rm "$tmp/src/sub/a.h"
expect 1 "empty glob fails" "path src/sub/\*.h does not exist"

rm "$tmp/docs/ARCHITECTURE.md"
expect 1 "missing document fails" "the document itself is missing"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
