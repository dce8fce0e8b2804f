#!/bin/bash
# check_launches.sh: the programmatic-dependent-launch contract of gpu/port/port.h
# ("launching") over the kernel sources: every launch goes through port_launch
# (no <<< >>>), and every __global__ function calls port_dep_enter() (a kernel
# launched so that skips it could read its inputs before the kernel writing them
# has finished). Default: gpu/kernels; --selftest: also proves on two broken
# files that each rule can fail.
#   bash tests/gpu/check_launches.sh [--selftest] [DIR]
set -u
check() { # DIR: prints each violation, returns 1 if any
    local bad=0 f
    for f in "$1"/*.hip; do
        if grep -n '<<<' "$f" | grep -v '^\s*[0-9]*:\s*\(//\|\*\)' >/dev/null; then
            grep -n '<<<' "$f" | sed "s|^|$f: launch without port_launch: |"
            bad=1
        fi
        awk -v f="$f" '
            /__global__/ { inker = 1; depth = 0; started = 0; ok = 0; line = NR }
            inker {
                s = $0
                if (s ~ /port_dep_enter\(\)/) ok = 1
                n = split(s, ch, "")
                for (i = 1; i <= n; i++) {
                    if (ch[i] == "{") { depth++; started = 1 }
                    else if (ch[i] == "}") depth--
                }
                if (started && depth == 0) {
                    if (!ok) { printf "%s:%d: kernel without port_dep_enter()\n", f, line; bad = 1 }
                    inker = 0
                }
            }
            END { exit bad }' "$f" || bad=1
    done
    return $bad
}
if [ "${1:-}" = --selftest ]; then
    shift
    t=$(mktemp -d)
    trap 'rm -rf "$t"' EXIT
    printf '__global__ void k(int *x) {\n    port_dep_enter();\n    if (x) { x[0] = 1; }\n}\nvoid go(int *x) { k<<<1, 1, 0, 0>>>(x); }\n' >"$t/a.hip"
    printf '__global__ void k(int *x) {\n    if (x) { x[0] = 1; }\n}\n__global__ void j(int *x) {\n    port_dep_enter();\n}\n' >"$t/b.hip"
    mkdir "$t/a" "$t/b"; mv "$t/a.hip" "$t/a/"; mv "$t/b.hip" "$t/b/"
    if check "$t/a" >/dev/null; then echo "FAIL: a <<< launch passed"; exit 1; fi
    if check "$t/b" >/dev/null; then echo "FAIL: a kernel without port_dep_enter passed"; exit 1; fi
    [ "$(check "$t/b" | grep -c 'b.hip:1:')" = 1 ] || { echo "FAIL: the wrong kernel was named"; exit 1; }
    echo "selftest: both rules fail on broken sources"
fi
dir=${1:-$(dirname "$0")/../../gpu/kernels}
check "$dir" || { echo "FAIL: $dir breaks the launch contract (gpu/port/port.h \"launching\")"; exit 1; }
echo "PASS: every launch in $dir through port_launch, every kernel calls port_dep_enter()"
