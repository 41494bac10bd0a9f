#!/usr/bin/python3
"""OpenBLAS sgemm baseline for `llama bench --what matmul`: the same shapes and the three forms of a linear layer
(forward x·Wᵀ, backward-input dy·W, backward-weight dyᵀ·x) with Debian's numpy.

    /usr/bin/python3 model/src/test/python/bench_numpy_matmul.py --model 15M --batch 8 --steps 5

Prints one line per shape and form, then a JSON object with the overall GFLOP/s (total flops / total time).
"""
import argparse
import json
import time

import numpy as np

from bench_torch import PRESETS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="15M")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    c = PRESETS[args.model]
    rows = args.batch * min(c["max_seq_len"], 1 << 30)
    kv = c["kv_heads"] * (c["dim"] // c["heads"])
    shapes = [("attention.wq/wo", c["dim"], c["dim"]), ("attention.wk/wv", c["dim"], kv),
              ("feed_forward.w1/w3", c["dim"], c["hidden_dim"]), ("feed_forward.w2", c["hidden_dim"], c["dim"]),
              ("output (256-row chunk)", c["dim"], c["vocab_size"])]
    rng = np.random.default_rng(1)
    total_flops = total_seconds = 0.0
    for layer, k, n in shapes:
        m = min(rows, 256) if layer.startswith("output") else rows
        x = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        w = rng.uniform(-1, 1, (n, k)).astype(np.float32)
        dy = rng.uniform(-1, 1, (m, n)).astype(np.float32)
        for form, op in (("forward", lambda: x @ w.T), ("backward-input", lambda: dy @ w),
                         ("backward-weight", lambda: dy.T @ x)):
            op()
            start = time.perf_counter()
            for _ in range(args.steps):
                op()
            seconds = time.perf_counter() - start
            flops = 2.0 * m * k * n * args.steps
            total_flops += flops
            total_seconds += seconds
            print(f"  {layer:24s} {form:16s} [{m} x {k}] x [{n} x {k}]^T {flops / seconds / 1e9:8.1f} GFLOP/s")
    print(json.dumps({"gflops": total_flops / total_seconds / 1e9}))


if __name__ == "__main__":
    main()
