#!/bin/sh
# check_resources.sh: the hot GPU kernels must not spill registers or use
# scratch (private) memory on gfx90a: either one turns a bandwidth-bound kernel
# into a scratch-bound one. Compiles each file with hipcc's resource report
# (-Rpass-analysis=kernel-resource-usage) and fails on any kernel whose
# ScratchSize or VGPR/SGPR spill count is not 0. Needs no GPU (CI).
#
# usage: check_resources.sh HIPCC ARCH SOURCE_DIR FILE.hip...
set -u
hipcc=$1 arch=$2 src=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for f in "$@"; do
    log=$tmp/$(basename "$f").log
    if ! "$hipcc" --offload-arch="$arch" -std=c++17 -O3 -D_POSIX_C_SOURCE=200809L \
        -I"$src/kernels" -I"$src/src" -Rpass-analysis=kernel-resource-usage \
        -c "$f" -o "$tmp/out.o" >"$log" 2>&1; then
        echo "FAIL compile $f"; cat "$log"; fail=1; continue
    fi
    # Lines: "<file>:L:C: remark: Function Name: X", then "    ScratchSize [bytes/lane]: N" ...
    out=$(awk '
        function num(line, key) { sub(".*" key ": *", "", line); sub(" .*", "", line); return line }
        /remark: Function Name:/ { fn = num($0, "Function Name"); k++ }
        /ScratchSize \[bytes\/lane\]:/ { v = num($0, "\\[bytes/lane\\]"); if (v != 0) print fn " scratch " v " bytes/lane" }
        /VGPRs Spill:/ { v = num($0, "VGPRs Spill"); if (v != 0) print fn " spills " v " VGPRs" }
        /SGPRs Spill:/ { v = num($0, "SGPRs Spill"); if (v != 0) print fn " spills " v " SGPRs" }
        END { print "#kernels " k + 0 }' "$log")
    k=$(echo "$out" | sed -n 's/^#kernels //p')
    n=$((n + k))
    bad=$(echo "$out" | grep -v '^#kernels' || true)
    if [ -n "$bad" ]; then
        echo "FAIL $(basename "$f"):"; echo "$bad" | sed 's/^/    /'; fail=1
    else
        echo "PASS $(basename "$f"): $k kernels, no scratch, no spills"
    fi
done
if [ "$n" -eq 0 ]; then echo "FAIL: no kernel resource report found"; exit 1; fi
exit $fail
