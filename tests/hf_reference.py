#!/usr/bin/env python3
"""hf_reference.py: reference logits and greedy tokens from HF transformers' GptOss
for getp's synthetic checkpoints. tests/cpu/test_fixture.c checks the CPU engine
against what this writes. It imports no getp code: the checkpoint is read with
safetensors, MXFP4 is dequantized here (numpy) and the weights are mapped to
transformers' names as docs/MODEL.md §3d says.

Run (from the repository root, after building getp-model-gen):

    B=build/getp-model-gen          # or build-cpu/...
    $B --preset tiny --seed 7 --out /tmp/hf_tiny_s7
    $B --preset tiny --seed 8 --window 16 --layers 3 --out /tmp/hf_tiny_s8_w16
    CUDA_VISIBLE_DEVICES=0 python3 tests/hf_reference.py \\
        --ckpt /tmp/hf_tiny_s7      --gen-args "--preset tiny --seed 7" \\
        --ckpt /tmp/hf_tiny_s8_w16  --gen-args "--preset tiny --seed 8 --window 16 --layers 3" \\
        --out tests/fixtures/hf_tiny

Set CUDA_VISIBLE_DEVICES to pick a GPU, or CUDA_VISIBLE_DEVICES= (empty) / --device cpu
to run on the CPU (works, slower). Default device: cuda if available, else cpu.
Everything runs in float32 with eager attention (TF32 matmuls are switched off).

--gen-args must be the exact getp-model-gen arguments (minus --out) that wrote the
--ckpt next to it: they are recorded in the manifest so the C test regenerates the
same checkpoint instead of the fixture shipping it.

Output directory:
    manifest.json            {"format": "getp-hf-fixture", "version": 1, "transformers": ..., "torch": ...,
                              "models": [{"name", "gen_args": [...], "config": {...}, "self_check": {...},
                                          "cases": [{"name", "prompt": [ids], "logits": "FILE",
                                                     "n": positions, "vocab": V,
                                                     "greedy": [K ids], "greedy_gap": [K top1-top2 gaps]}]}]}
    m<i>_c<j>_logits.f32     teacher-forced logits of case j of model i: raw little-endian
                             float32, shape (n, vocab), row p = logits after position p.
greedy[k] is HF's argmax after feeding prompt + greedy[:k] (full forward each step,
no KV cache); greedy_gap[k] its top-1 minus top-2 logit, so a consumer can tell a
genuine mismatch from a near-tie.

Prompts are deterministic (numpy default_rng(1000 + model index)): lengths 1, 9, 130
and 333 (> 300, so the 128 window and the YaRN ramp matter; with --window 16
the window is much shorter than every long prompt).

Self-checks printed (and stored under self_check): rotary inv_freq and attention
scaling against the YaRN formula of docs/MODEL.md §2 evaluated here; one MoE block
of HF against a numpy evaluation of that section's MoE on the same weights (catches a wrong
gate_up interleave or transposition); HF incremental decoding (KV cache) against
the full pass (max abs logit difference over all positions of the longest
prompt). The script stops with an error if one fails.
"""
import argparse
import inspect
import json
import math
import os
import shlex
import sys

import numpy as np
import torch

import transformers
from transformers import GptOssConfig, GptOssForCausalLM

PROMPT_LENGTHS = [1, 9, 130, 333]
GREEDY_TOKENS = 12

MXFP4_MAG = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], dtype=np.float64)


def bf16_to_f32(a):
    """safetensors.numpy returns BF16 as uint16 words on some versions; widen exactly."""
    if a.dtype == np.uint16:
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


def load_checkpoint(path):
    """Tensors of model.safetensors as numpy. BF16 is read raw from the file
    (numpy has no bf16), so this does not depend on safetensors' bf16 support."""
    fn = os.path.join(path, "model.safetensors")
    with open(fn, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, ent in header.items():
            if name == "__metadata__":
                continue
            b, e = ent["data_offsets"]
            f.seek(base + b)
            raw = f.read(e - b)
            dt = {"BF16": np.uint16, "F32": np.float32, "U8": np.uint8, "F16": np.float16}[ent["dtype"]]
            arr = np.frombuffer(raw, dtype=dt).reshape(ent["shape"])
            out[name] = bf16_to_f32(arr) if ent["dtype"] in ("BF16", "F16", "F32") else arr.copy()
    return out


def dequant_mxfp4(blocks, scales):
    """blocks (..., G, 16) u8, scales (..., G) u8 -> (..., G*32) float32.
    Byte j of a group: element 2j in the low nibble, 2j+1 in the high nibble;
    code c: magnitude MXFP4_MAG[c & 7], negative when c & 8; times 2^(scale-127)."""
    lo = blocks & 0x0F
    hi = blocks >> 4
    codes = np.stack([lo, hi], axis=-1).reshape(*blocks.shape[:-1], 32)  # (..., G, 32)
    vals = MXFP4_MAG[codes & 7] * np.where(codes & 8, -1.0, 1.0)
    vals = vals * np.ldexp(1.0, scales.astype(np.int32) - 127)[..., None]
    return vals.reshape(*blocks.shape[:-2], blocks.shape[-2] * 32).astype(np.float32)


def yarn_reference(cfg):
    """The YaRN table of docs/MODEL.md §2 in float64: (inv_freq, concentration)."""
    hd, theta, factor, L0 = cfg["head_dim"], cfg["rope_theta"], cfg["rope_scaling_factor"], cfg["initial_context_length"]
    alpha, beta = cfg.get("rope_ntk_alpha", 1.0), cfg.get("rope_ntk_beta", 32.0)
    half = hd // 2
    freq = theta ** (np.arange(half, dtype=np.float64) * 2 / hd)
    if factor <= 1:
        return 1 / freq, 1.0
    low = half * math.log(L0 / (beta * 2 * math.pi)) / math.log(theta)
    high = half * math.log(L0 / (alpha * 2 * math.pi)) / math.log(theta)
    ramp = np.clip((np.arange(half) - low) / (high - low), 0, 1)
    inv = (1 / (factor * freq)) * ramp + (1 / freq) * (1 - ramp)
    return inv, 0.1 * math.log(factor) + 1


def build_hf_config(cfg):
    L = cfg["num_hidden_layers"]
    rope = {
        "rope_type": "yarn",
        "factor": float(cfg["rope_scaling_factor"]),
        "beta_fast": float(cfg.get("rope_ntk_beta", 32.0)),
        "beta_slow": float(cfg.get("rope_ntk_alpha", 1.0)),
        "original_max_position_embeddings": int(cfg["initial_context_length"]),
        "truncate": False,  # OpenAI's reference does not round the ramp bounds
    }
    kw = dict(
        num_hidden_layers=L,
        num_local_experts=cfg["num_experts"],
        num_experts_per_tok=cfg["experts_per_token"],
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        intermediate_size=cfg["intermediate_size"],
        head_dim=cfg["head_dim"],
        num_attention_heads=cfg["num_attention_heads"],
        num_key_value_heads=cfg["num_key_value_heads"],
        sliding_window=cfg["sliding_window"],
        max_position_embeddings=int(cfg["initial_context_length"] * cfg["rope_scaling_factor"]),
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
        layer_types=["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(L)],
        attention_dropout=0.0,
    )
    params = inspect.signature(GptOssConfig.__init__).parameters
    if "rope_parameters" in params:  # transformers >= 5
        rope["rope_theta"] = float(cfg["rope_theta"])
        kw["rope_parameters"] = rope
    else:
        kw["rope_theta"] = float(cfg["rope_theta"])
        kw["rope_scaling"] = rope
    return GptOssConfig(**kw)


def map_weights(ck, cfg):
    """docs/MODEL.md §3d: original names -> transformers GptOss names (float32 tensors)."""
    L, H = cfg["num_hidden_layers"], cfg["hidden_size"]
    Dq = cfg["head_dim"] * cfg["num_attention_heads"]
    Dkv = cfg["head_dim"] * cfg["num_key_value_heads"]
    sd = {
        "model.embed_tokens.weight": ck["embedding.weight"],
        "lm_head.weight": ck["unembedding.weight"],
        "model.norm.weight": ck["norm.scale"],
    }
    for n in range(L):
        b, p = f"block.{n}.", f"model.layers.{n}."
        sd[p + "input_layernorm.weight"] = ck[b + "attn.norm.scale"]
        sd[p + "post_attention_layernorm.weight"] = ck[b + "mlp.norm.scale"]
        w, bias = ck[b + "attn.qkv.weight"], ck[b + "attn.qkv.bias"]
        assert w.shape == (Dq + 2 * Dkv, H), w.shape
        for name, (r0, r1) in {"q": (0, Dq), "k": (Dq, Dq + Dkv), "v": (Dq + Dkv, Dq + 2 * Dkv)}.items():
            sd[p + f"self_attn.{name}_proj.weight"] = w[r0:r1]
            sd[p + f"self_attn.{name}_proj.bias"] = bias[r0:r1]
        sd[p + "self_attn.o_proj.weight"] = ck[b + "attn.out.weight"]
        sd[p + "self_attn.o_proj.bias"] = ck[b + "attn.out.bias"]
        sd[p + "self_attn.sinks"] = ck[b + "attn.sinks"]
        sd[p + "mlp.router.weight"] = ck[b + "mlp.gate.weight"]
        sd[p + "mlp.router.bias"] = ck[b + "mlp.gate.bias"]
        w1 = dequant_mxfp4(ck[b + "mlp.mlp1_weight.blocks"], ck[b + "mlp.mlp1_weight.scales"])  # (E, 2I, H)
        w2 = dequant_mxfp4(ck[b + "mlp.mlp2_weight.blocks"], ck[b + "mlp.mlp2_weight.scales"])  # (E, H, I)
        sd[p + "mlp.experts.gate_up_proj"] = w1  # orientation fixed in load_into_model
        sd[p + "mlp.experts.gate_up_proj_bias"] = ck[b + "mlp.mlp1_bias"]
        sd[p + "mlp.experts.down_proj"] = w2
        sd[p + "mlp.experts.down_proj_bias"] = ck[b + "mlp.mlp2_bias"]
    return sd


def load_into_model(model, sd, cfg):
    """Copy sd into the model. Expert weights: transformers' GptOss stores them as
    (E, in, out) (x @ W, 'transposed'); our arrays are (E, out, in). Decide by the
    parameter's shape, and when that is ambiguous (H == 2I or H == I) by the
    module's is_transposed flag, defaulting to (E, in, out) as in docs/MODEL.md §3d."""
    params = dict(model.named_parameters())
    missing = set(params) - set(sd)
    if missing:
        raise SystemExit(f"hf_reference: no weight for HF parameters {sorted(missing)[:8]}...")
    extra = set(sd) - set(params)
    if extra:
        raise SystemExit(f"hf_reference: HF has no parameter for {sorted(extra)[:8]}...")
    with torch.no_grad():
        for name, arr in sd.items():
            prm = params[name]
            t = torch.from_numpy(np.ascontiguousarray(arr))
            if name.endswith("gate_up_proj") or name.endswith("down_proj"):
                experts = model.get_submodule(name.rsplit(".", 1)[0])
                transposed = t.transpose(1, 2)  # (E, in, out)
                flag = getattr(experts, "is_transposed", None)
                if tuple(prm.shape) == tuple(transposed.shape) and (
                    tuple(prm.shape) != tuple(t.shape) or flag is not False
                ):
                    t = transposed
                elif tuple(prm.shape) != tuple(t.shape):
                    raise SystemExit(f"hf_reference: {name}: HF shape {tuple(prm.shape)}, ours {tuple(t.shape)}")
            if tuple(prm.shape) != tuple(t.shape):
                raise SystemExit(f"hf_reference: {name}: HF shape {tuple(prm.shape)}, ours {tuple(t.shape)}")
            prm.copy_(t.to(prm.dtype))
    # the swiglu limit and alpha are attributes of the expert modules (hard-coded 7.0 / 1.702 in HF)
    for mod in model.modules():
        if hasattr(mod, "gate_up_proj") and hasattr(mod, "limit"):
            mod.limit = float(cfg.get("swiglu_limit", 7.0))
            assert abs(getattr(mod, "alpha", 1.702) - 1.702) < 1e-12


def numpy_moe(cfg, ck, layer, t):
    """The MoE block of docs/MODEL.md §2 on normalized input t (N, H), float64, from the raw checkpoint."""
    b = f"block.{layer}."
    g = t @ ck[b + "mlp.gate.weight"].astype(np.float64).T + ck[b + "mlp.gate.bias"]
    w1 = dequant_mxfp4(ck[b + "mlp.mlp1_weight.blocks"], ck[b + "mlp.mlp1_weight.scales"]).astype(np.float64)
    w2 = dequant_mxfp4(ck[b + "mlp.mlp2_weight.blocks"], ck[b + "mlp.mlp2_weight.scales"]).astype(np.float64)
    b1, b2 = ck[b + "mlp.mlp1_bias"].astype(np.float64), ck[b + "mlp.mlp2_bias"].astype(np.float64)
    k, lim = cfg["experts_per_token"], cfg.get("swiglu_limit", 7.0)
    out = np.zeros_like(t)
    for i in range(t.shape[0]):
        order = sorted(range(g.shape[1]), key=lambda e: (-g[i, e], e))[:k]
        lg = g[i, order]
        w = np.exp(lg - lg.max())
        w /= w.sum()
        for we, e in zip(w, order):
            u = w1[e] @ t[i] + b1[e]
            glu = np.minimum(u[0::2], lim)
            lin = np.clip(u[1::2], -lim, lim)
            h = glu / (1 + np.exp(-1.702 * glu)) * (lin + 1)
            out[i] += we * (w2[e] @ h + b2[e])
    return out


def self_checks(model, cfg, ck, device):
    res = {}
    # 1. rotary table
    inv_ref, conc_ref = yarn_reference(cfg)
    rot = model.model.rotary_emb
    inv_hf = rot.inv_freq.detach().double().cpu().numpy()
    res["rope_inv_freq_max_rel_err"] = float(np.max(np.abs(inv_hf - inv_ref) / inv_ref))
    res["rope_attention_scaling"] = float(rot.attention_scaling)
    res["rope_concentration_spec"] = float(conc_ref)
    print(f"  rope: inv_freq max rel err {res['rope_inv_freq_max_rel_err']:.3g}, "
          f"attention_scaling {rot.attention_scaling:.9f} (formula {conc_ref:.9f})")
    if res["rope_inv_freq_max_rel_err"] > 1e-5 or abs(rot.attention_scaling - conc_ref) > 1e-6:
        raise SystemExit("hf_reference: HF's rotary table does not match the YaRN of docs/MODEL.md §2")
    # 2. one MoE block
    H = cfg["hidden_size"]
    rng = np.random.default_rng(5)
    t = rng.standard_normal((5, H))
    mlp = model.model.layers[0].mlp
    with torch.no_grad():
        y = mlp(torch.tensor(t, dtype=torch.float32, device=device)[None])
    y = (y[0] if isinstance(y, tuple) else y)[0].double().cpu().numpy()
    ref = numpy_moe(cfg, ck, 0, t)
    err = float(np.max(np.abs(y - ref)) / np.max(np.abs(ref)))
    res["moe_block_max_rel_err"] = err
    print(f"  moe block 0 vs numpy reference: max err / max|y| = {err:.3g}")
    if err > 1e-4:
        raise SystemExit("hf_reference: HF's MoE block disagrees with docs/MODEL.md §2 (expert weight mapping?)")
    return res


def full_logits(model, ids, device):
    with torch.no_grad():
        x = torch.tensor([ids], dtype=torch.long, device=device)
        return model(input_ids=x, use_cache=False).logits[0].float().cpu().numpy()


def incremental_logits(model, ids, device):
    """Token by token with HF's KV cache."""
    from transformers import DynamicCache

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:
        cache = DynamicCache()
    rows = []
    with torch.no_grad():
        for p, tok in enumerate(ids):
            x = torch.tensor([[tok]], dtype=torch.long, device=device)
            out = model(input_ids=x, past_key_values=cache, use_cache=True,
                        cache_position=torch.tensor([p], device=device))
            cache = out.past_key_values
            rows.append(out.logits[0, -1].float().cpu().numpy())
    return np.stack(rows)


def greedy(model, prompt, k, device):
    ids, gaps = list(prompt), []
    for _ in range(k):
        last = full_logits(model, ids, device)[-1].astype(np.float64)
        top = int(np.argmax(last))  # ties -> lowest id, as getp
        srt = np.sort(last)
        gaps.append(float(srt[-1] - srt[-2]))
        ids.append(top)
    return ids[len(prompt):], gaps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", action="append", required=True, help="checkpoint dir from getp-model-gen (repeatable)")
    ap.add_argument("--gen-args", action="append", required=True,
                    help="the getp-model-gen arguments (without --out) that wrote the matching --ckpt")
    ap.add_argument("--out", required=True, help="fixture output directory")
    ap.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    ap.add_argument("--greedy", type=int, default=GREEDY_TOKENS)
    a = ap.parse_args()
    if len(a.ckpt) != len(a.gen_args):
        ap.error("give one --gen-args per --ckpt")
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_default_dtype(torch.float32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    os.makedirs(a.out, exist_ok=True)
    manifest = {"format": "getp-hf-fixture", "version": 1, "transformers": transformers.__version__,
                "torch": torch.__version__, "device": device, "models": []}

    for mi, (ckpt, gen_args) in enumerate(zip(a.ckpt, a.gen_args)):
        with open(os.path.join(ckpt, "config.json")) as f:
            cfg = json.load(f)
        print(f"model {mi}: {ckpt} ({gen_args})")
        ck = load_checkpoint(ckpt)
        hc = build_hf_config(cfg)
        try:  # transformers 5: also ask for the plain per-expert loop
            model = GptOssForCausalLM._from_config(hc, attn_implementation="eager", experts_implementation="eager")
        except (TypeError, ValueError):
            model = GptOssForCausalLM._from_config(hc, attn_implementation="eager")
        model = model.float().eval()
        load_into_model(model, map_weights(ck, cfg), cfg)
        model.to(device)
        print(f"  attn_implementation {model.config._attn_implementation}, experts_implementation "
              f"{getattr(model.config, '_experts_implementation', 'n/a')}, layer_types {model.config.layer_types}")
        checks = self_checks(model, cfg, ck, device)

        rng = np.random.default_rng(1000 + mi)
        V = cfg["vocab_size"]
        entry = {"name": f"m{mi}", "gen_args": shlex.split(gen_args), "config": cfg, "self_check": checks,
                 "cases": []}
        for ci, n in enumerate(PROMPT_LENGTHS):
            prompt = [int(x) for x in rng.integers(0, V, size=n)]
            lg = full_logits(model, prompt, device)
            assert lg.shape == (n, V) and np.all(np.isfinite(lg))
            fn = f"m{mi}_c{ci}_logits.f32"
            lg.astype("<f4").tofile(os.path.join(a.out, fn))
            toks, gaps = greedy(model, prompt, a.greedy, device)
            entry["cases"].append({"name": f"len{n}", "prompt": prompt, "logits": fn, "n": n, "vocab": V,
                                   "greedy": toks, "greedy_gap": gaps})
            print(f"  case len {n}: logits max|.| {np.abs(lg).max():.3f}, greedy {toks}, min gap {min(gaps):.3g}")
        longest = max(entry["cases"], key=lambda c: c["n"])["prompt"]
        inc = incremental_logits(model, longest, device)
        full = full_logits(model, longest, device)
        d = float(np.max(np.abs(inc - full)))
        d_last = float(np.max(np.abs(inc[-1] - full[-1])))
        checks["incremental_vs_full_max_abs"] = d
        checks["incremental_vs_full_last_max_abs"] = d_last
        print(f"  HF incremental (KV cache) vs full pass, {len(longest)} positions: max abs diff {d:.3g} "
              f"(last position {d_last:.3g})")
        if d > 1e-3 * max(1.0, float(np.abs(full).max())):
            raise SystemExit("hf_reference: HF's incremental and full passes disagree")
        manifest["models"].append(entry)
        del model

    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(a.out, x)) for x in os.listdir(a.out))
    print(f"wrote {a.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    sys.exit(main())
