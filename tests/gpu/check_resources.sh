#!/bin/sh
# check_resources.sh: the hot GPU kernels must not spill registers or use
# scratch (private) memory on the AMD targets: either one turns a
# bandwidth-bound kernel into a scratch-bound one. Compiles each file for each
# arch with hipcc's resource report (-Rpass-analysis=kernel-resource-usage),
# prints one line per kernel (VGPRs, AGPRs, LDS bytes per block, scratch bytes
# per lane, the waves per SIMD the registers and LDS allow) and fails on any
# kernel whose scratch or spill count is not 0. Needs no GPU (CI).
#
# usage: check_resources.sh HIPCC "ARCH[;ARCH...]" SOURCE_DIR FILE.hip...
# HIP_CHECK_FLAGS: more compiler flags (for a plain clang++: -x hip --rocm-path=...
# --rocm-device-lib-path=..., how cmake/gpu.cmake checks gfx942 when the
# installed hipcc predates it).
set -u
hipcc=$1 archs=$2 src=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for arch in $(echo "$archs" | tr ';' ' '); do
    echo "== $arch: kernel VGPRs AGPRs LDS[B/block] scratch[B/lane] waves/SIMD"
    for f in "$@"; do
        log=$tmp/$arch.$(basename "$f").log
        # shellcheck disable=SC2086
        if ! "$hipcc" ${HIP_CHECK_FLAGS:-} --offload-arch="$arch" -std=c++17 -O3 -D_POSIX_C_SOURCE=200809L \
            -I"$src/gpu" -I"$src/gpu/kernels" -I"$src/gpu/port" -I"$src/src" \
            -Rpass-analysis=kernel-resource-usage -c "$f" -o "$tmp/out.o" >"$log" 2>&1; then
            echo "FAIL compile $f for $arch"; cat "$log"; fail=1; continue
        fi
        # Lines: "<file>:L:C: remark: Function Name: X", then "    VGPRs: N" ... per kernel
        out=$(awk -v file="$(basename "$f")" '
            function num(line, key) { sub(".*" key ": *", "", line); sub(" .*", "", line); return line }
            function flush() { if (fn != "") { printf "  %-14s %-64.64s %4s %4s %6s %4s %3s\n", file, fn, vg, ag, lds, scr, occ;
                               if (scr != 0) print "BAD " fn " scratch " scr " bytes/lane";
                               if (vsp != 0) print "BAD " fn " spills " vsp " VGPRs";
                               if (ssp != 0) print "BAD " fn " spills " ssp " SGPRs" } }
            /remark: Function Name:/ { flush(); fn = num($0, "Function Name"); k++; vsp = ssp = 0 }
            /remark: +VGPRs:/ { vg = num($0, "VGPRs") }
            /remark: +AGPRs:/ { ag = num($0, "AGPRs") }
            /ScratchSize \[bytes\/lane\]:/ { scr = num($0, "\\[bytes/lane\\]") }
            /Occupancy \[waves\/SIMD\]:/ { occ = num($0, "\\[waves/SIMD\\]") }
            /LDS Size \[bytes\/block\]:/ { lds = num($0, "\\[bytes/block\\]") }
            /VGPRs Spill:/ { vsp = num($0, "VGPRs Spill") }
            /SGPRs Spill:/ { ssp = num($0, "SGPRs Spill") }
            END { flush(); print "#kernels " k + 0 }' "$log")
        k=$(echo "$out" | sed -n 's/^#kernels //p')
        n=$((n + k))
        echo "$out" | grep -v '^#kernels' | grep -v '^BAD' || true
        bad=$(echo "$out" | grep '^BAD' || true)
        if [ -n "$bad" ]; then
            echo "FAIL $(basename "$f") ($arch):"; echo "$bad" | sed 's/^BAD /    /'; fail=1
        fi
    done
done
if [ "$n" -eq 0 ]; then echo "FAIL: no kernel resource report found"; exit 1; fi
[ $fail -eq 0 ] && echo "PASS: $n kernel reports, no scratch, no spills"
exit $fail
