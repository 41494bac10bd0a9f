#!/usr/bin/python3
"""Matmul baseline for `llama bench --what matmul`: the same shapes and the three forms of a linear layer
(forward x·Wᵀ, backward-input dy·W, backward-weight dyᵀ·x) with PyTorch (its BLAS: MKL in the pip wheels) or numpy.

    python model/src/test/python/bench_matmul.py --library torch --model 15M --rows 2048 --threads 2 --steps 10

--precision bf16 (torch only) multiplies bfloat16 tensors (PyTorch's bf16 GEMM: bf16 in, fp32 accumulation, bf16 out).

Prints one line per shape and form, then a JSON object with the overall GFLOP/s (total flops / total time at each
shape's median round) and each shape's figure.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import PRESETS  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", choices=("torch", "numpy"), default="torch")
    parser.add_argument("--model", default="15M")
    parser.add_argument("--rows", type=int, default=8 * 256, help="token rows (the LM head runs on 256 of them)")
    parser.add_argument("--steps", type=int, default=10, help="repetitions per round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    if args.precision == "bf16" and args.library != "torch":
        parser.error("--precision bf16 needs --library torch")
    if args.library == "torch":
        import torch
        torch.set_num_threads(args.threads)
        lib = f"torch {torch.__version__} ({'MKL' if torch.backends.mkl.is_available() else 'no MKL'}), " \
              f"{args.threads} threads, {args.precision}"
        dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32

        def tensor(rng, shape):
            return torch.from_numpy(rng.uniform(-1, 1, shape).astype("float32")).to(dtype)
    else:
        import numpy
        lib = f"numpy {numpy.__version__} (threads from the environment)"

        def tensor(rng, shape):
            return rng.uniform(-1, 1, shape).astype("float32")
    import numpy as np
    c = PRESETS[args.model]
    kv = c["kv_heads"] * (c["dim"] // c["heads"])
    shapes = [("attention.wq/wo", c["dim"], c["dim"]), ("attention.wk/wv", c["dim"], kv),
              ("feed_forward.w1/w3", c["dim"], c["hidden_dim"]), ("feed_forward.w2", c["hidden_dim"], c["dim"]),
              ("output", c["dim"], c["vocab_size"])]
    rng = np.random.default_rng(1)
    total_flops = total_seconds = 0.0
    results = []
    for layer, k, n in shapes:
        m = min(args.rows, 256) if layer == "output" else args.rows
        x, w, dy = tensor(rng, (m, k)), tensor(rng, (n, k)), tensor(rng, (m, n))
        dw = tensor(rng, (n, k))
        for form, op in (("forward", lambda: x @ w.T), ("backward-input", lambda: dy @ w),
                         ("backward-weight", lambda: dw.__iadd__(dy.T @ x))):
            for _ in range(3):
                op()
            rounds = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                for _ in range(args.steps):
                    op()
                rounds.append((time.perf_counter() - start) / args.steps)
            seconds = statistics.median(rounds)
            flops = 2.0 * m * k * n
            total_flops += flops
            total_seconds += seconds
            print(f"  {layer:20s} {form:16s} [{m} x {k}] x [{n} x {k}]^T {flops / seconds / 1e9:8.1f} GFLOP/s")
            results.append({"layer": layer, "form": form, "m": m, "k": k, "n": n, "gflops": flops / seconds / 1e9})
    print(json.dumps({"library": lib, "gflops": total_flops / total_seconds / 1e9, "shapes": results}))


if __name__ == "__main__":
    main()
