#!/usr/bin/python3
"""PyTorch CPU baseline for `llama bench --what step`: training tokens/s of the same LLaMA (the fixture
generator's model code: forward, backward, AdamW) on the same preset and batch, with random tokens.

    /usr/bin/python3 model/src/test/python/bench_torch.py --model 15M --batch 16 --steps 5 [--threads N]
        [--precision fp32|bf16]

bf16 runs the forward pass (and so the matching backward) under torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's bf16 mixed precision: fp32 parameters and AdamW, bf16 matrix products.

Prints one line per preset and, last, a JSON object with tokens_per_s.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_llama_fixtures import mean_loss, param_shapes, rope_table  # noqa: E402


def hidden_dim(dim, multiple_of):
    hidden = 2 * (4 * dim) // 3
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


# Mirrors LlamaConfig.PRESETS for the single-machine presets.
PRESETS = {
    "tiny": dict(dim=64, layers=2, heads=4, kv_heads=2, vocab_size=4096, hidden_dim=hidden_dim(64, 32),
                 max_seq_len=128, tied_embeddings=True),
    "15M": dict(dim=288, layers=6, heads=6, kv_heads=6, vocab_size=32000, hidden_dim=hidden_dim(288, 32),
                max_seq_len=256, tied_embeddings=True),
    "42M": dict(dim=512, layers=8, heads=8, kv_heads=8, vocab_size=32000, hidden_dim=hidden_dim(512, 32),
                max_seq_len=1024, tied_embeddings=True),
    "110M": dict(dim=768, layers=12, heads=12, kv_heads=12, vocab_size=32000, hidden_dim=hidden_dim(768, 32),
                 max_seq_len=1024, tied_embeddings=True),
    "1.1B": dict(dim=2048, layers=16, heads=32, kv_heads=8, vocab_size=32000, hidden_dim=8192,
                 max_seq_len=2048, tied_embeddings=False),
}


def bench(name, batch, seq, steps, precision):
    cfg = dict(PRESETS[name], norm_eps=1e-5, rope_theta=10000.0)
    torch.manual_seed(1)
    params = {n: torch.nn.Parameter(torch.randn(*s) * 0.02 if len(s) == 2 else torch.ones(*s))
              for n, s in param_shapes(cfg)}
    opt = torch.optim.AdamW(list(params.values()), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    cos, sin = rope_table(cfg, seq, torch.float32)
    windows = torch.randint(0, cfg["vocab_size"], (batch, seq + 1))

    def step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = mean_loss(params, cfg, windows, cos, sin)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    return batch * seq * steps / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny,15M")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=-1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for name in args.model.split(","):
        seq = args.seq_len if args.seq_len > 0 else min(PRESETS[name]["max_seq_len"], 256)
        tps = bench(name, args.batch, seq, args.steps, args.precision)
        print(f"torch {torch.__version__} {name}: batch {args.batch} x {seq}, {tps:,.0f} tokens/s, "
              f"{args.threads} threads, {args.precision}")
        results.append({"model": name, "batch": args.batch, "seq_len": seq, "precision": args.precision,
                        "tokens_per_s": tps})
    print(json.dumps({"tokens_per_s": results[-1]["tokens_per_s"], "models": results}))


if __name__ == "__main__":
    main()
