#!/usr/bin/python3
"""A weight quantization algorithm written in Python (AMCT's
algorithm_register), used by a language-model config like a built-in one.

    PYTHONPATH=build/python python3 examples/python/llm_algorithm.py [OUT_DIR]

The algorithm: round to nearest with each group's range clipped to the
`ratio` that minimises that group's squared weight error (a small grid
search), on the one-block Llama-shaped test model.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np

import amct_mlir as amct

repo = Path(__file__).resolve().parents[2]
out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)
subprocess.run([sys.executable, str(repo / "test" / "Tools" / "Inputs" / "llm_block.py"),
                str(out)], check=True, capture_output=True)


def clip_search(weight, *, bits, symmetric, strategy, group_size, inputs, params, layer):
    """weight [K, N] -> (integers [K, N], one scale per group and column)."""
    if strategy != "group" or not symmetric:
        raise ValueError("clip_search quantizes symmetric groups only")
    k, n = weight.shape
    g = group_size
    groups = -(-k // g)
    w = np.zeros((groups * g, n), np.float32)
    w[:k] = weight
    w = w.reshape(groups, g, n)
    qmax = 2 ** (bits - 1) - 1
    best_err, best_scale = None, None
    for ratio in np.linspace(params["min_ratio"], 1.0, params["steps"]):
        scale = np.maximum(np.abs(w).max(axis=1) * ratio / qmax, 1e-12).astype(np.float32)
        q = np.clip(np.rint(w / scale[:, None]), -qmax - 1, qmax)
        err = ((q * scale[:, None] - w) ** 2).sum(axis=1)
        if best_err is None:
            best_err, best_scale = err, scale
        else:
            better = err < best_err
            best_err = np.where(better, err, best_err)
            best_scale = np.where(better, scale, best_scale)
    q = np.clip(np.rint(w / best_scale[:, None]), -qmax - 1, qmax).reshape(-1, n)[:k]
    return q.astype(np.int8), best_scale.reshape(-1)


amct.algorithm_register("clip_search", clip_search, params={
    "min_ratio": {"min": 0, "max": 1, "min_exclusive": True, "default": 0.7},
    "steps": {"type": "integer", "min": 2, "max": 100, "default": 16}})

tokens = {"tokens": np.load(out / "tokens.npy")}
weights = {"type": "int4", "strategy": "group", "group_size": 32}
results = {}
for algorithm in ["minmax", {"clip_search": {"steps": 31}}]:
    config = {"quant_cfg": {"weights": weights}, "algorithm": algorithm,
              "skip_layers": ["lm_head"]}
    name = algorithm if isinstance(algorithm, str) else "clip_search"
    report = amct.quantize(str(out / "model.onnx"), config, tokens, str(out / name))
    results[name] = report
    errors = [r["weight_error"] for r in report["quantized"]]
    print(f"{name:12} {len(errors)} layers, mean relative weight error {np.mean(errors):.5f}, "
          f"mean layer output cosine {np.mean([r['cosine'] for r in report['quantized']]):.6f}")
