#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that dev.jllama.model.TorchParityTest compares the Java model against.

Run with Debian's python (plain torch as Debian packages it, no PyPI):
    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 model/src/test/python/make_llama_fixtures.py model/src/test/resources/fixtures

For each fixture NAME it writes NAME.json (metadata) and NAME.bin (raw float32, little-endian, no header). Every
tensor in the JSON has "offset" (in float32 elements from the start of NAME.bin) and "shape". Sections:
  weights      the initial parameters, named as in Meta's checkpoints (tok_embeddings.weight, layers.0.attention.wq.weight, ...)
  grads        gradients of the MEAN cross-entropy of step 1's batch w.r.t. the initial parameters (before clipping)
  after_step1  the parameters after the first clipped AdamW step
  after_final  the parameters after the last step
and scalars per step: windows (batch rows of seq_len+1 token ids), mean loss, global gradient norm (before
clipping), the clip coefficient applied, and the learning rate. The JSON also records, per tensor, how far this
float32 run is from the same computation in float64 (norm-wise relative error), to show the float32 noise floor.

The model is written out explicitly (as in Meta's llama/model.py): RMSNorm, RoPE on interleaved pairs (2j, 2j+1),
grouped-query causal attention, SwiGLU, final RMSNorm, LM head, mean cross-entropy. The RoPE cos/sin table is
computed in float64 and rounded once, as the Java model does, so both sides use the same table.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

BETAS = (0.9, 0.95)
EPS = 1e-8
WEIGHT_DECAY = 0.1
CLIP = 1.0
MIN_RATIO = 0.1


def lr_at(step, peak, warmup, total):
    """LLaMA schedule, 0-based step: linear warm-up to peak, cosine decay to MIN_RATIO * peak at total."""
    if step < warmup:
        return peak * (step + 1) / warmup
    low = peak * MIN_RATIO
    if step >= total:
        return low
    progress = (step - warmup) / max(1, total - warmup)
    return low + 0.5 * (peak - low) * (1 + math.cos(math.pi * progress))


def param_shapes(cfg):
    d, kv, f, v = cfg["dim"], cfg["kv_heads"] * (cfg["dim"] // cfg["heads"]), cfg["hidden_dim"], cfg["vocab_size"]
    shapes = [("tok_embeddings.weight", (v, d))]
    for l in range(cfg["layers"]):
        p = f"layers.{l}."
        shapes += [(p + "attention_norm.weight", (d,)), (p + "attention.wq.weight", (d, d)),
                   (p + "attention.wk.weight", (kv, d)), (p + "attention.wv.weight", (kv, d)),
                   (p + "attention.wo.weight", (d, d)), (p + "ffn_norm.weight", (d,)),
                   (p + "feed_forward.w1.weight", (f, d)), (p + "feed_forward.w2.weight", (d, f)),
                   (p + "feed_forward.w3.weight", (f, d))]
    shapes.append(("norm.weight", (d,)))
    if not cfg["tied_embeddings"]:
        shapes.append(("output.weight", (v, d)))
    return shapes


def rmsnorm(x, gain, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rope(x, cos, sin):
    # x: [B, T, H, hd]; pairs (2j, 2j+1) rotate by angle pos * theta^(-2j/hd).
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


def rope_table(cfg, seq, dtype):
    hd = cfg["dim"] // cfg["heads"]
    j = torch.arange(hd // 2, dtype=torch.float64)
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * cfg["rope_theta"] ** (-2.0 * j / hd)[None, :]
    # Rounded once to float32 like the Java table, then widened for the float64 run.
    return torch.cos(angles).float().to(dtype), torch.sin(angles).float().to(dtype)


def mean_loss(p, cfg, windows, cos, sin):
    d, h, kvh = cfg["dim"], cfg["heads"], cfg["kv_heads"]
    hd = d // h
    eps = cfg["norm_eps"]
    inputs, targets = windows[:, :-1], windows[:, 1:]
    bsz, seq = inputs.shape
    x = p["tok_embeddings.weight"][inputs]
    mask = torch.full((seq, seq), float("-inf"), dtype=x.dtype).triu(1)
    for l in range(cfg["layers"]):
        pre = f"layers.{l}."
        n = rmsnorm(x, p[pre + "attention_norm.weight"], eps)
        q = (n @ p[pre + "attention.wq.weight"].T).view(bsz, seq, h, hd)
        k = (n @ p[pre + "attention.wk.weight"].T).view(bsz, seq, kvh, hd)
        v = (n @ p[pre + "attention.wv.weight"].T).view(bsz, seq, kvh, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        # Grouped-query: query head i uses kv head i // (h / kvh).
        k = k.repeat_interleave(h // kvh, dim=2)
        v = v.repeat_interleave(h // kvh, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(hd) + mask
        att = torch.softmax(scores, dim=-1) @ v
        att = att.transpose(1, 2).reshape(bsz, seq, d)
        x = x + att @ p[pre + "attention.wo.weight"].T
        n = rmsnorm(x, p[pre + "ffn_norm.weight"], eps)
        ffn = F.silu(n @ p[pre + "feed_forward.w1.weight"].T) * (n @ p[pre + "feed_forward.w3.weight"].T)
        x = x + ffn @ p[pre + "feed_forward.w2.weight"].T
    x = rmsnorm(x, p["norm.weight"], eps)
    head = p["tok_embeddings.weight"] if cfg["tied_embeddings"] else p["output.weight"]
    logits = x @ head.T
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def train(cfg, init, batches, schedule, dtype):
    """Runs len(batches) clipped AdamW steps; returns the per-step records and snapshots."""
    p = {name: torch.nn.Parameter(t.clone().to(dtype)) for name, t in init.items()}
    decay = [t for name, t in p.items() if t.dim() == 2]
    no_decay = [t for name, t in p.items() if t.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=schedule["peak"], betas=BETAS, eps=EPS, foreach=False)
    cos, sin = rope_table(cfg, batches[0].shape[1] - 1, dtype)
    steps, grads, after1 = [], None, None
    for s, windows in enumerate(batches):
        opt.zero_grad(set_to_none=False)
        loss = mean_loss(p, cfg, windows, cos, sin)
        loss.backward()
        if s == 0:
            grads = {name: t.grad.detach().clone() for name, t in p.items()}
        norm = torch.nn.utils.clip_grad_norm_(list(p.values()), CLIP).item()
        lr = lr_at(s, schedule["peak"], schedule["warmup"], schedule["total"])
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        steps.append({"windows": windows.flatten().tolist(), "loss": loss.item(), "grad_norm": norm,
                      "clip_coef": min(1.0, CLIP / (norm + 1e-6)), "lr": lr})
        if s == 0:
            after1 = {name: t.detach().clone() for name, t in p.items()}
    final = {name: t.detach().clone() for name, t in p.items()}
    return steps, grads, after1, final


def rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


def make(out_dir, name, cfg, batch, seq, n_steps, schedule, seed):
    torch.manual_seed(seed)
    init = {}
    for pname, shape in param_shapes(cfg):
        if len(shape) == 1:
            # Gains away from 1 so that their gradients and the gain terms of RMSNorm's backward matter.
            init[pname] = 1.0 + 0.2 * torch.randn(shape)
        else:
            # Larger than LLaMA's 0.02 so that attention is far from uniform and the gradient norm exceeds the
            # clipping threshold.
            init[pname] = 0.15 * torch.randn(shape)
    batches = [torch.randint(0, cfg["vocab_size"], (batch, seq + 1)) for _ in range(n_steps)]

    steps, grads, after1, final = train(cfg, init, batches, schedule, torch.float32)
    steps64, grads64, after1_64, final64 = train(cfg, init, batches, schedule, torch.float64)

    blob, sections, offset = [], {}, 0
    noise = {}
    for section, tensors, ref in (("weights", init, None), ("grads", grads, grads64),
                                  ("after_step1", after1, after1_64), ("after_final", final, final64)):
        entries = {}
        for pname, _ in param_shapes(cfg):
            t = tensors[pname].detach().float().contiguous()
            entries[pname] = {"offset": offset, "shape": list(t.shape)}
            blob.append(t.flatten())
            offset += t.numel()
            if ref is not None:
                noise.setdefault(section, {})[pname] = rel(tensors[pname], ref[pname])
        sections[section] = entries
    for s, s64 in zip(steps, steps64):
        s["loss_f64"] = s64["loss"]
        s["grad_norm_f64"] = s64["grad_norm"]

    meta = {
        "format": "jllama-torch-fixture",
        "version": 1,
        "generator": "model/src/test/python/make_llama_fixtures.py",
        "torch_version": torch.__version__,
        "seed": seed,
        "config": cfg,
        "batch": batch,
        "seq_len": seq,
        "optimizer": {"betas": list(BETAS), "eps": EPS, "weight_decay": WEIGHT_DECAY, "clip_norm": CLIP,
                      "schedule": dict(schedule, min_ratio=MIN_RATIO)},
        "steps": steps,
        "tensors": sections,
        "f32_vs_f64_relative_error": noise,
    }
    with open(os.path.join(out_dir, name + ".bin"), "wb") as fh:
        raw = torch.cat(blob).contiguous()
        # Explicit little-endian bytes without numpy: view the float32 storage as uint8 (x86 is little-endian).
        assert sys.byteorder == "little"
        fh.write(bytes(raw.view(torch.uint8).tolist()))
    with open(os.path.join(out_dir, name + ".json"), "w") as fh:
        json.dump(meta, fh, indent=1)
        fh.write("\n")
    worst = {sec: max(v.values()) for sec, v in noise.items()}
    print(f"{name}: {offset} floats, losses {[round(s['loss'], 5) for s in steps]}, "
          f"grad norms {[round(s['grad_norm'], 4) for s in steps]}, lrs {[s['lr'] for s in steps]}, "
          f"worst f32-vs-f64 {worst}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "model/src/test/resources/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    base = {"dim": 32, "layers": 2, "heads": 4, "kv_heads": 2, "vocab_size": 50, "hidden_dim": 64,
            "norm_eps": 1e-5, "rope_theta": 10000.0, "max_seq_len": 16}
    # Four steps: warm-up of 2 (lr peak/2, peak), then cosine towards 10 % at step 6 (peak, then partway down).
    schedule = {"peak": 3e-3, "warmup": 2, "total": 6}
    make(out_dir, "llama_untied", dict(base, tied_embeddings=False), 3, 16, 4, schedule, 1234)
    make(out_dir, "llama_tied", dict(base, tied_embeddings=True), 3, 16, 4, schedule, 5678)


if __name__ == "__main__":
    main()
