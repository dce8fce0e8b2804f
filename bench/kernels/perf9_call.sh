#!/bin/bash
# perf9_call.sh: one device call for the 120b batch shape (M=342): the dense dispatcher
# (bench_matmul: qkv, o, router, router128 at M 342 / 2048, every version: "v13 auto" is
# the dispatcher's pick, "v14 gemv rows" the row-grouped GEMV), the moe_mid_mx knobs at
# E=128 (bench_moe v0 auto, v11 = production, v12.. variants; M 342 / 512), then Nsight
# Compute on one mlp1 launch of v11 and of the fastest other mid variant at M=342.
# Logs to /tmp/perf9, a tarball to $OUT. About 4 minutes on an H100; every step has a
# timeout and ncu is skipped past 7 minutes (the device call's limit is 10).
set -u
res=${OUT:-/tmp}; out=/tmp/perf9; mkdir -p "$out"
t0=$(date +%s)
el() { echo "$(( $(date +%s) - t0 )) s"; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv,noheader
FL="-arch=sm_90a -O2 -Ikernels -Isrc -lineinfo"
gcc -c -O2 -Isrc src/common.c -o /tmp/pcommon.o || exit 1
timeout 300 nvcc $FL -DGETP_WGMMA=1 -Xptxas -v -x cu bench/kernels/bench_moe.cu \
    -Xlinker /tmp/pcommon.o -o /tmp/bench_moe9 >"$out/build_moe.log" 2>&1 &
timeout 300 nvcc $FL -x cu bench/kernels/bench_matmul.cu -Xlinker /tmp/pcommon.o \
    -o /tmp/bench_matmul9 >"$out/build_mm.log" 2>&1 &
wait
[ -x /tmp/bench_moe9 ] && [ -x /tmp/bench_matmul9 ] || { tail -5 "$out"/build_*.log; exit 1; }
echo "build: $(el)"
# moe_mid_mx instances, mlp1: <KS,NT,NS,MINB,L2B,FOLD> registers/spill-store bytes
awk "/Compiling entry function '_Z10moe_mid_mxILi1E/ { f = \$0; sub(/.*_Z10moe_mid_mxILi1ELi/, \"\", f);
    sub(/EEv7MoeArgs.*/, \"\", f); gsub(/ELi|ELb/, \",\", f); getline; getline; sp = \$5; getline; print \"<\" f \">\" \$5 \"/\" sp }" \
    "$out/build_moe.log" | sort -u | paste -sd' '
echo "######## bench_matmul ($(el))"
for sh in qkv o router router128; do
    BENCH_M=342,2048 timeout 45 /tmp/bench_matmul9 $sh >"$out/mm_$sh.log" 2>&1
    grep -E "VALID|ARGMAX|BITS" "$out/mm_$sh.log"
    # per M: every version's ms, the auto line and the fastest version
    awk -v sh=$sh '$1 == sh { v = $3; ms = $(NF-3) + 0;
        line[$2] = line[$2] " " v "=" $(NF-3); if (!($2 in best) || ms < best[$2]) { best[$2] = ms; bv[$2] = v }
        if ($3 == "v13") au[$2] = ms }
        END { for (m in line) printf "%s M=%s auto %s best %s %s |%s\n", sh, m, au[m], bv[m], best[m], line[m] }' \
        "$out/mm_$sh.log" | sort -t= -k2n
done
echo "######## bench_moe E=128 ($(el))"
BENCH_E=128 BENCH_M=342,512 BENCH_V=0,11,12,13,14,15,16,17,18,19 timeout 120 /tmp/bench_moe9 >"$out/moe.log" 2>&1
echo "rc=$?"; grep -E "VALID|BITS|^mlp|^sort" "$out/moe.log"
best=$(awk '$1 == "mlp1" && $2 == 342 && $3 ~ /^v1[2-9]$/ { if (!b || $(NF-3) < bm) { b = $3; bm = $(NF-3) } }
    END { sub(/^v/, "", b); print b }' "$out/moe.log")
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null || echo ncu)
ST=smsp__average_warps_issue_stalled; STALLS=""
for r in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait \
    not_selected selected dispatch_stall no_instruction branch_resolving; do STALLS="$STALLS,${ST}_${r}_per_issue_active.ratio"; done
for v in 11 ${best:-12}; do
    echo "######## ncu v$v mlp1 M=342 E=128 ($(el))"
    [ $(( $(date +%s) - t0 )) -gt 420 ] && { echo "skipped: past 420 s"; continue; }
    ncu_run() { BENCH_E=128 BENCH_M=342 BENCH_V=$v timeout 90 $NCU -k regex:moe_mid_mx -c 1 \
        --section SpeedOfLight --section Occupancy --section WarpStateStats --section SchedulerStats \
        --section MemoryWorkloadAnalysis "$@" /tmp/bench_moe9 >"$out/ncu_v$v.log" 2>&1; }
    ncu_run --metrics "${STALLS#,}"; rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "==ERROR==" "$out/ncu_v$v.log"; then
        grep -m2 "==ERROR==" "$out/ncu_v$v.log"; echo "again without the stall metrics"
        cp "$out/ncu_v$v.log" "$out/ncu_v$v.err.log"; ncu_run; rc=$?
    fi
    echo "rc=$rc"
    grep -E "moe_mid_mx|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\)|L2 Hit|L1/TEX Hit|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit (Reg|Shared)|Issued Warp|No Eligible|Active Warps Per|Eligible Warps|Warp Cycles Per Issued|Max Bandwidth|Mem Busy|Mem Pipes|ERROR" \
        "$out/ncu_v$v.log" | sed -E 's/  +/ /g' | cut -c1-150 | head -30
    # stall reasons (warps per issue cycle), largest first
    grep -E "${ST}_" "$out/ncu_v$v.log" | sed -E "s/ +/ /g; s/${ST}_//; s/_per_issue_active.ratio//" |
        awk '{ print $NF, $1 }' | sort -rn | head -8 | paste -sd' '
    grep -E "^ *(OPT|WRN) " "$out/ncu_v$v.log" | cut -c1-220 | head -8
done
echo "total: $(el)"
tar -czf "$res/perf9_logs.tgz" -C "$out" . 2>/dev/null
