#!/usr/bin/env bash
# test_check_paths.sh: check_paths.sh itself, on a throw-away tree: it passes
# when every citation exists and fails, naming the citation, when a cited file,
# directory or function disappears; it checks every docs/*.md and README.md
# by default; names a document declares outside the repository are skipped
# there and only there, and a malformed declaration fails. Never touches the
# real tree.
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

mkdir -p "$tmp/docs" "$tmp/src/sub" "$tmp/gpu/kernels" "$tmp/mpi" "$tmp/tools" "$tmp/tests/docs"
printf 'int thing_make(void) { return 1; }\n' > "$tmp/src/thing.c"
printf '__global__ void k(void) {}\nvoid launch_k (int n);\n' > "$tmp/gpu/kernels/k.hip"
# a name that only the checker's own tests mention does not count as a function
printf 'gone_fn() { :; }\n' > "$tmp/tests/docs/t.sh"
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

mv "$tmp/gpu/kernels/k.hip" "$tmp/gpu/kernels/k2.hip"
expect 1 "bare file name is searched in the tree" "file k.hip found nowhere"
mv "$tmp/gpu/kernels/k2.hip" "$tmp/gpu/kernels/k.hip"

rm "$tmp/src/sub/a.h"
expect 1 "empty glob fails" "path src/sub/\*.h does not exist"
: > "$tmp/src/sub/a.h"

# every docs/*.md is checked, not only ARCHITECTURE.md
printf '# other\nsee `src/thing.c` and `docs/none.md`\n' > "$tmp/docs/OTHER.md"
expect 1 "a second document is checked too" "docs/OTHER.md:2: path docs/none.md does not exist"
printf '# other\nsee `src/thing.c` and `gone_fn()`\n' > "$tmp/docs/OTHER.md"
expect 1 "tests/docs/ does not count as a source folder" "function gone_fn() not found"

# names declared outside the repository are skipped in that document only
printf '# other\n<!-- check_paths: not in the repository: config.json deps/ -->\n`config.json`, `deps/`, `src/thing.c`\n' \
    > "$tmp/docs/OTHER.md"
expect 0 "declared names are skipped" "declared outside the repository"
printf '# third\n`config.json`\n' > "$tmp/docs/THIRD.md"
expect 1 "a declaration holds for its own document only" "docs/THIRD.md:2: file config.json found nowhere"
rm "$tmp/docs/THIRD.md"
printf '# other\n<!-- check_paths: not in repo: config.json -->\n`config.json`\n' > "$tmp/docs/OTHER.md"
expect 1 "a malformed declaration fails" "docs/OTHER.md:2: unreadable check_paths comment"
rm "$tmp/docs/OTHER.md"

# README.md at the root is checked too
printf '# readme\nsee `docs/gone.md`\n' > "$tmp/README.md"
expect 1 "README.md is checked too" "README.md:2: path docs/gone.md does not exist"
rm "$tmp/README.md"

rm "$tmp/docs/ARCHITECTURE.md"
expect 1 "no document at all fails" "no document to check"
out=$(bash "$check" "$tmp" docs/ARCHITECTURE.md 2>&1)
if [ $? -ne 0 ] && grep -q "the document itself is missing" <<<"$out"; then
    pass=$((pass + 1)); echo "PASS a named missing document fails"
else
    fail=$((fail + 1)); echo "FAIL a named missing document fails"; sed 's/^/    /' <<<"$out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
