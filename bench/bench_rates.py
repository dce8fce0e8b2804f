#!/usr/bin/env python3
"""bench_rates.py: the achieved rates of one getp run (bench/run_bench.sh).

    bench_rates.py LOG ERR INPUT STEPS MODEL HBM_GBS NAME

LOG / ERR: getp's stdout (warm_up, elapsed, tokens) and stderr (--verbose batch
line, GETP_PROFILE lines); INPUT the prompt file; MODEL the checkpoint directory
(its config.json gives the shapes; 20b's by default). Prints the achieved
TFLOP/s (weights' FLOP per token + attention at the mean context), GB/s (the
weights a step streams, experts counted as the expected share a batch touches,
plus the KV cache read), the mean step, the memory-bandwidth floor of that step
at HBM_GBS and the share of it reached, and last one summary line:
    NAME: X tok/s, Y ms/step at batch B, Z% of the bandwidth floor
"""
import json
import os
import re
import sys

log, err = open(sys.argv[1]).read(), open(sys.argv[2]).read()
inp, steps_n, model, hbm, name = sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]), sys.argv[7]


def get(key, text):
    m = re.search(r"^%s:\s*([0-9.]+)" % key, text, re.M)
    return float(m.group(1)) if m else 0.0


tokens, secs = get("tokens", log), get("elapsed", log)
m = re.search(r"batch (\d+), cap", err)
B = int(m.group(1)) if m else 0
m = re.search(r"^profile: (\d+) steps", err, re.M)
nsteps = int(m.group(1)) if m else 0
L, H, V, E, I, Dq, Dkv, K = 24, 2880, 201088, 32, 2880, 4096, 512, 4
cfg_path = os.path.join(model, "config.json")
if os.path.isfile(cfg_path):
    c = json.load(open(cfg_path))
    L, H, V, E, I = c["num_hidden_layers"], c["hidden_size"], c["vocab_size"], c["num_experts"], c["intermediate_size"]
    K = c.get("experts_per_token", 4)
    Dq, Dkv = c.get("head_dim", 64) * c["num_attention_heads"], c.get("head_dim", 64) * c["num_key_value_heads"]
if inp.endswith(".jsonl"):  # requests: ids or text, each maybe with its own max_tokens
    reqs = [json.loads(l) for l in open(inp, encoding="utf-8") if l.strip()]
    n_prompt = sum(len(q["prompt_token_ids"]) if "prompt_token_ids" in q else len(q.get("prompt", "").split()) * 1.3
                   for q in reqs) / max(1, len(reqs))
    caps = [q["max_tokens"] for q in reqs if "max_tokens" in q]
    if caps:  # the mean request's generated length, for the mean context below
        steps_n = int(sum(caps) / len(caps) + n_prompt)
else:
    lines = open(inp, encoding="utf-8").read().split("\n")[1:]
    words = [len(l.split()) for l in lines if l]
    n_prompt = sum(words) / max(1, len(words)) * (1.0 if inp.endswith(".ids") else 1.3)
dense = L * 2 * (H * (Dq + 2 * Dkv) + H * Dq + E * H) + 2 * V * H
moe = L * K * 2 * (2 * I * H + H * I)
ctx = (n_prompt + steps_n) / 2                      # mean position while decoding
attn = L / 2 * 4 * 64 * 64 * (ctx + min(ctx, 128))  # QK and PV, full + sliding layers
flop = tokens * (dense + moe + attn)
tps = tokens / secs if secs else 0.0
print("achieved: %.1f TFLOP/s (%.2f GFLOP/token: dense+head %.2f, moe %.2f, attention %.2f at mean "
      "context %.0f)" % (flop / secs / 1e12 if secs else 0, (dense + moe + attn) / 1e9, dense / 1e9,
                         moe / 1e9, attn / 1e9, ctx))
floor_share = ""
if nsteps and B and secs:
    per_step_tokens = tokens / nsteps
    touched = E * (1 - (1 - K / E) ** max(1.0, per_step_tokens))  # experts a step touches per layer
    wbytes = (L * 2 * (H * (Dq + 2 * Dkv) + H * Dq + E * H) + 2 * V * H
              + L * touched * (2 * I * H + H * I) * 17 / 32)
    kv = tokens * L / 2 * 2 * Dkv * 2 * (ctx + min(ctx, 128))
    step_ms = 1e3 * secs / nsteps
    floor_ms = 1e3 * (wbytes + kv / nsteps) / (hbm * 1e9)
    print("achieved: %.0f GB/s (%d steps x %.2f GB of weights (%.1f experts/layer) + %.1f GB KV reads)"
          % ((nsteps * wbytes + kv) / secs / 1e9, nsteps, wbytes / 1e9, touched, kv / 1e9))
    print("mean step: %.3f ms at batch %d (%.0f tokens/step); bandwidth floor %.3f ms at %.0f GB/s = %.0f%%"
          % (step_ms, B, per_step_tokens, floor_ms, hbm, 100 * floor_ms / step_ms))
    floor_share = ", %.3f ms/step at batch %d, %.0f%% of the bandwidth floor" % (step_ms, B, 100 * floor_ms / step_ms)
print("%s: %.1f tok/s%s" % (name, tps, floor_share))
