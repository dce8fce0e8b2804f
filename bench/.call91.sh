#!/bin/bash
cd "$(dirname "$0")/.."
timeout 570 bash bench/device.sh build:cur:. model:20b model:120b \
  "playground:moe:BENCH_E=128,BENCH_M=1024,BENCH_V=0/25/68/69/70" \
  "playground:moe:BENCH_M=384/2048,BENCH_V=0/7/8/25/70/71/72" \
  tests:cur alias:f0:cur \
  "bench:cur:quick:MODEL=/mnt/t/m120b,PROFILE=0" "bench:f0:quick:MODEL=/mnt/t/m120b,PROFILE=0,GETP_MOE_WG_FORM=0" same:cur:f0:quick \
  "bench:cur:quick:COUNT=2048,PROFILE=0" "bench:f0:quick:COUNT=2048,PROFILE=0,GETP_MOE_WG_FORM=0" same:cur:f0:quick \
  batchinv:cur
tar czf "$OUT/logs.tgz" -C /tmp device 2>/dev/null
