#!/usr/bin/env bash
# check_paths.sh: the documents (docs/*.md and README.md) must only name
# things that exist.
#
#   bash tests/docs/check_paths.sh [REPO_ROOT [DOC...]]
#        REPO_ROOT default: the repository holding this script; DOC default:
#        every docs/*.md of REPO_ROOT and its README.md (relative to REPO_ROOT,
#        or absolute)
#
# What counts as a citation: a single-backtick span outside fenced code blocks
# (``` lines) that is one word of [A-Za-z0-9_./*+-] starting with a letter, digit,
# '.' or '_', and either contains '/' or ends in .c .h .hip .cpp .cu .sh .md .cmake
# .py .mjs .json .txt .sbatch. Spans with '<', '>', '$', '{', ' ' or '://' are
# templates, commands or URLs and are skipped; so are absolute paths (/tmp/...).
#   - a span with '/' must exist relative to REPO_ROOT (file or directory; a '*'
#     glob must match at least one path);
#   - a bare file name (no '/') must exist somewhere in the tree (build*, deps,
#     .git and node_modules are not searched).
# A span of the form `name()` is a function: `name (` or `name(` must occur in
# the source folders (src/, app/, gpu/, mpi/, getp_run.cpp, tools/, bench/,
# tests/ but not tests/docs/, fuzz/; grep).
# Names that are deliberately outside the repository (a model's config.json,
# the ignored folders deps/ or data/ that scripts create) are declared in the
# document itself, on a line of their own, and then skipped in that document:
#     <!-- check_paths: not in the repository: config.json deps/ -->
# A check_paths comment of any other form fails (a typo must not turn the
# check off).
# Prints one FAIL line per missing citation and closes with "N passed, M failed"
# (and the number of declared spans skipped); exit 1 if anything failed, a
# document is missing, or there is no document at all. Needs bash, grep, awk,
# find (no python).
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
shift $(( $# > 0 ? 1 : 0 ))
docs=("$@")
cd "$root" || { echo "check_paths: cannot enter $root"; echo "0 passed, 1 failed"; exit 1; }
if [ ${#docs[@]} -eq 0 ]; then
    for d in docs/*.md README.md; do [ -f "$d" ] && docs+=("$d"); done
fi

passed=0 failed=0 declared=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
[ ${#docs[@]} -gt 0 ] || fail "no document to check (docs/*.md is empty)"

# Prints the names a document declares outside the repository, one per line,
# and "BAD<TAB>LINE" for a check_paths comment it cannot read.
declared_names() {
    awk '
        /<!--[ \t]*check_paths/ {
            if (match($0, /^[ \t]*<!--[ \t]*check_paths:[ \t]*not in the repository:[^>]*-->[ \t]*$/)) {
                s = $0
                sub(/^[ \t]*<!--[ \t]*check_paths:[ \t]*not in the repository:/, "", s)
                sub(/-->[ \t]*$/, "", s)
                n = split(s, w, /[ \t]+/)
                for (i = 1; i <= n; i++) if (w[i] != "") print w[i]
            } else {
                print "BAD\t" FNR
            }
        }' "$1"
}

# Prints "LINE<TAB>SPAN" for every backticked span outside fenced blocks.
spans() {
    awk '
        /^[ \t]*```/ { fenced = !fenced; next }
        fenced { next }
        {
            line = $0
            while (match(line, /`[^`]+`/)) {
                print FNR "\t" substr(line, RSTART + 1, RLENGTH - 2)
                line = substr(line, RSTART + RLENGTH)
            }
        }' "$1"
}

# Directories searched for function names.
fn_dirs=()
for d in src app gpu mpi getp_run.cpp tools bench tests fuzz; do [ -e "$d" ] && fn_dirs+=("$d"); done

exts='\.(c|h|hip|cpp|cu|sh|md|cmake|py|mjs|json|txt|sbatch)$'
for doc in "${docs[@]}"; do
    if [ ! -f "$doc" ]; then fail "$doc: the document itself is missing"; continue; fi
    checked=""
    outside=" "
    while IFS=$'\t' read -r name bad_ln; do
        if [ "$name" = BAD ]; then
            fail "$doc:$bad_ln: unreadable check_paths comment (write <!-- check_paths: not in the repository: NAME... -->)"
        else
            outside="$outside$name "
        fi
    done < <(declared_names "$doc")
    while IFS=$'\t' read -r ln span; do
        case "$outside" in *" $span "*) declared=$((declared + 1)); continue ;; esac
        # functions: name()
        if [[ $span =~ ^[A-Za-z_][A-Za-z0-9_]*\(\)$ ]]; then
            name=${span%()}
            case " $checked " in *" f:$name "*) continue ;; esac
            checked="$checked f:$name"
            if [ ${#fn_dirs[@]} -gt 0 ] &&
               grep -rqE --exclude-dir=docs --include='*.c' --include='*.h' --include='*.hip' --include='*.cpp' \
                   --include='*.cu' --include='*.mjs' --include='*.py' --include='*.sh' \
                   "(^|[^A-Za-z0-9_])${name}[[:space:]]*\(" "${fn_dirs[@]}" 2>/dev/null; then
                passed=$((passed + 1))
            else
                fail "$doc:$ln: function ${name}() not found in the source folders"
            fi
            continue
        fi
        # paths
        [[ $span =~ ^[A-Za-z0-9_.][A-Za-z0-9_./*+-]*$ ]] || continue
        [[ $span == */* || $span =~ $exts ]] || continue
        case " $checked " in *" p:$span "*) continue ;; esac
        checked="$checked p:$span"
        p=${span%/}
        if [[ $span == */* ]]; then
            if [[ $p == *'*'* ]]; then
                # shellcheck disable=SC2206  # the glob is expanded on purpose
                matches=($p)
                [ -e "${matches[0]}" ] && { passed=$((passed + 1)); continue; }
            elif [ -e "$p" ]; then
                passed=$((passed + 1)); continue
            fi
            fail "$doc:$ln: path $span does not exist"
        else
            hit=$(find . \( -name .git -o -name 'build*' -o -name deps -o -name node_modules \) -prune \
                  -o -name "$p" -print -quit 2>/dev/null)
            if [ -n "$hit" ]; then passed=$((passed + 1)); else fail "$doc:$ln: file $span found nowhere in the tree"; fi
        fi
    done < <(spans "$doc")
done

if [ "$declared" -gt 0 ]; then
    echo "$passed passed, $failed failed ($declared declared outside the repository, skipped)"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
