#!/usr/bin/env python3
"""Cross-checks our safetensors files with the reference implementation (Hugging Face's safetensors, numpy).

  safetensors_check.py read FILE    prints one JSON object: {"metadata": {...}, "tensors": {name: {"dtype",
                                    "shape", "values"}}}, tensors in file order, values as float32 -> float
  safetensors_check.py write FILE   writes the tensors of reference_tensors() with metadata {"writer": "python"}
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file


def reference_tensors():
    """Known values, including ones whose bytes expose a wrong byte order or a lossy conversion."""
    return {
        "ramp": (np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.5) - np.float32(1)),
        "specials": np.array([1e-38, -0.0, 3.4028235e38, 1.0 / 3.0, -7.25, 1.401298e-45], dtype=np.float32),
        "scalar_like": np.array([[42.0]], dtype=np.float32),
    }


def read(path):
    tensors = {}
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            t = f.get_tensor(name)
            tensors[name] = {"dtype": str(t.dtype), "shape": list(t.shape),
                             "values": [float(v) for v in t.reshape(-1)]}
    print(json.dumps({"metadata": metadata, "tensors": tensors}))


def write(path):
    save_file(reference_tensors(), path, metadata={"writer": "python"})


if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
