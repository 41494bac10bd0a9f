#!/usr/bin/env python3
"""The reference for LoraCrossCheckTest: a LLaMA written out in plain PyTorch (Meta's layout: RoPE on interleaved
pairs, grouped-query attention, SwiGLU, RMSNorm, no biases) with LoRA written by hand, no PEFT: each adapted linear
layer computes x W^T + (alpha / r) (x A^T) B^T.

  lora_check.py SPEC.json TENSORS.safetensors OUT.safetensors
      SPEC: {"config": LlamaConfig JSON, "lora": {"rank", "alpha", "targets"}, "batch", "seq_len",
             "tokens": batch x (seq_len + 1) ids, "mask": batch x seq_len 0/1 (targets that count)}
      TENSORS: the base weights by Meta names, the adapters as NAME.lora_a [r, in] and NAME.lora_b [out, r]
      Prints {"loss", "counted"}: the mean cross-entropy over the counted targets; writes the gradient of that loss
      with respect to every adapter (same names) to OUT.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

TARGETS = {"q": "attention.wq", "k": "attention.wk", "v": "attention.wv", "o": "attention.wo",
           "gate": "feed_forward.w1", "up": "feed_forward.w3", "down": "feed_forward.w2"}


def rmsnorm(x, gain, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rope(x, cos, sin):
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)


def main(spec_path, tensors_path, out_path):
    torch.set_default_dtype(torch.float32)
    with open(spec_path) as f:
        spec = json.load(f)
    cfg, lora = spec["config"], spec["lora"]
    p = load_file(tensors_path)
    adapters = {k: v.clone().requires_grad_(True) for k, v in p.items() if ".lora_" in k}
    scale = lora["alpha"] / lora["rank"]
    d, h, kvh = cfg["dim"], cfg["heads"], cfg["kv_heads"]
    hd = d // h
    eps = cfg["norm_eps"]
    bsz, seq = spec["batch"], spec["seq_len"]
    windows = torch.tensor(spec["tokens"], dtype=torch.int64).view(bsz, seq + 1)
    counted = torch.tensor(spec["mask"], dtype=torch.bool).view(bsz, seq)
    inputs, targets = windows[:, :-1], windows[:, 1:].clone()
    targets[~counted] = -100

    j = torch.arange(hd // 2, dtype=torch.float64)
    angles = torch.arange(seq, dtype=torch.float64)[:, None] * cfg["rope_theta"] ** (-2.0 * j / hd)[None, :]
    cos, sin = torch.cos(angles).float(), torch.sin(angles).float()

    def linear(x, layer, target):
        name = f"layers.{layer}.{TARGETS[target]}"
        y = x @ p[name + ".weight"].T
        if target in lora["targets"]:
            y = y + scale * ((x @ adapters[name + ".lora_a"].T) @ adapters[name + ".lora_b"].T)
        return y

    x = p["tok_embeddings.weight"][inputs]
    mask = torch.full((seq, seq), float("-inf")).triu(1)
    for l in range(cfg["layers"]):
        pre = f"layers.{l}."
        n = rmsnorm(x, p[pre + "attention_norm.weight"], eps)
        q = linear(n, l, "q").view(bsz, seq, h, hd)
        k = linear(n, l, "k").view(bsz, seq, kvh, hd)
        v = linear(n, l, "v").view(bsz, seq, kvh, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        k = k.repeat_interleave(h // kvh, dim=2)
        v = v.repeat_interleave(h // kvh, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + mask, dim=-1) @ v
        x = x + linear(att.transpose(1, 2).reshape(bsz, seq, d), l, "o")
        n = rmsnorm(x, p[pre + "ffn_norm.weight"], eps)
        x = x + linear(F.silu(linear(n, l, "gate")) * linear(n, l, "up"), l, "down")
    x = rmsnorm(x, p["norm.weight"], eps)
    head = p["tok_embeddings.weight"] if cfg["tied_embeddings"] else p["output.weight"]
    logits = x @ head.T
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    save_file({k: v.grad.contiguous() for k, v in adapters.items()}, out_path)
    print(json.dumps({"loss": float(loss), "counted": int(counted.sum())}))


if __name__ == "__main__":
    main(*sys.argv[1:])
