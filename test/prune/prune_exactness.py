#!/usr/bin/python3
"""Channel pruning and 2:4 sparsity, judged by ONNX Runtime and onnx.

    prune_exactness.py --amct build/bin/amct --work DIR

1. Exactness: the models of make_prune_models.py (half of each prunable
   layer's filters exactly zero) pruned at ratio 0.5 (align 1) compute the
   original outputs in ONNX Runtime (max abs diff <= 1e-5), with the same
   output shapes; every prunable layer loses half its channels (checked on
   the weights in the ONNX file); re-applying the prune record reproduces
   the pruned model byte for byte.
2. 2:4: on the same models, every run of 4 input channels of each pruned
   weight has at least 2 zeros and the kept weights are the 2 largest in
   magnitude of the original run; the record's mask matches the zeros and
   re-applying the record reproduces the model byte for byte.
Exit 1 on any failure.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import prune_common  # noqa: E402


def run(cmd):
    return prune_common.run(cmd, "prune-exactness")
MODELS = prune_common.PRUNE_MODELS
# Layers (node names) that must lose half their output channels in each
# model, and depthwise convolutions pruned with them.
HALVED = {
    "residual": ["/stem/Conv", "/conv1/Conv", "/conv2/Conv"],
    "depthwise": ["/pw1/Conv", "/dw/Conv"],
    "concat": ["/a/Conv", "/b/Conv"],
    "flatten_linear": ["/conv/Conv", "/fc1/Gemm"],
    "transformer_mlp": ["/up/MatMul"],
    "decoder": ["/conv/Conv", "/up/ConvTranspose"],
}


def output_channels(path):
    """Output channels of each Conv / ConvTranspose / Gemm / MatMul node,
    from its weight initializer, and the layers' weights with their
    input-channel axis."""
    graph = onnx.load(str(path)).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:  # torch's Linear: MatMul(x, Transpose(W))
        if n.op_type == "Transpose" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]].T
    channels, weights = {}, {}
    for n in graph.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") or len(n.input) < 2 or \
                n.input[1] not in inits:
            continue
        w = inits[n.input[1]]
        trans_b = any(a.name == "transB" and a.i for a in n.attribute)
        out_axis = {"Conv": 0, "ConvTranspose": 1, "Gemm": 0 if trans_b else 1, "MatMul": 1}
        in_axis = {"Conv": 1, "ConvTranspose": 0, "Gemm": 1 if trans_b else 0, "MatMul": 0}
        channels[n.name] = w.shape[out_axis[n.op_type]]
        weights[n.name] = (w, in_axis[n.op_type])
    return channels, weights



def runs_of_four(weight, axis):
    """The weight as rows of runs of 4 along `axis` (input channels),
    zero-padded: shape [..., runs, 4]."""
    w = np.moveaxis(weight, axis, -1)
    pad = (-w.shape[-1]) % 4
    w = np.concatenate([w, np.zeros(w.shape[:-1] + (pad,), w.dtype)], -1)
    return w.reshape(w.shape[:-1] + (w.shape[-1] // 4, 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    models = prune_common.prune_models(work, "prune-exactness")
    problems = []

    # 1. Channel pruning is exact on zero filters.
    jobs = []
    for m in MODELS:
        prefix = work / "channel" / m
        run([args.amct, "prune", "--model", models / f"{m}.onnx", "--method", "channel",
             "--ratio", "0.5", "--align", "1", "--save-path", prefix])
        pruned = Path(f"{prefix}_pruned_model.onnx")
        again = work / "channel-restore" / m
        run([args.amct, "prune", "--model", models / f"{m}.onnx", "--record",
             f"{prefix}_prune_record.txt", "--save-path", again])
        if Path(f"{again}_pruned_model.onnx").read_bytes() != pruned.read_bytes():
            problems.append(f"{m}: re-applying the prune record does not reproduce the model")
        before, _ = output_channels(models / f"{m}.onnx")
        after, _ = output_channels(pruned)
        for name in HALVED[m]:
            if name not in after or after[name] * 2 != before[name]:
                problems.append(f"{m}: {name} has {after.get(name)} output channels, expected "
                                f"half of {before[name]}")
        for path in [models / f"{m}.onnx", pruned]:
            jobs.append({"model": str(path), "inputs": {"input": str(models / f"{m}.input.npy")},
                         "outDir": str(work / "ort" / path.stem), "opt": "disabled"})
    outs = prune_common.ort_first_outputs(jobs, work, "prune-exactness")
    print(f"{'model':18} {'max |diff|':>11}  output shape")
    for i, m in enumerate(MODELS):
        ref, got = outs[2 * i], outs[2 * i + 1]
        diff = float(np.abs(ref - got).max()) if ref.shape == got.shape else float("inf")
        print(f"{m:18} {diff:11.3e}  {got.shape}")
        if ref.shape != got.shape:
            problems.append(f"{m}: output shape {got.shape} != original {ref.shape}")
        elif diff > 1e-5:
            problems.append(f"{m}: pruned output differs from the original by {diff:.3e}")

    # 2. 2:4: the kept weights are the 2 largest of every run of 4.
    for m in MODELS:
        prefix = work / "sparse" / m
        run([args.amct, "prune", "--model", models / f"{m}.onnx", "--method", "2:4",
             "--save-path", prefix])
        again = work / "sparse-restore" / m
        run([args.amct, "prune", "--model", models / f"{m}.onnx", "--record",
             f"{prefix}_prune_record.txt", "--save-path", again])
        if Path(f"{again}_pruned_model.onnx").read_bytes() != \
                Path(f"{prefix}_pruned_model.onnx").read_bytes():
            problems.append(f"{m}: re-applying the 2:4 record does not reproduce the model")
        _, before = output_channels(models / f"{m}.onnx")
        _, after = output_channels(f"{prefix}_pruned_model.onnx")
        checked = 0
        for name, (w, axis) in after.items():
            old_w = before[name][0]
            if w.shape[axis] == 1:
                continue  # depthwise: one input channel per group
            new, old = runs_of_four(w, axis), runs_of_four(old_w, axis)
            if np.array_equal(new, old):
                continue
            checked += 1
            if (new == 0).sum(-1).min() < 2:
                problems.append(f"{m}: {name} has a run of 4 with fewer than 2 zeros")
            order = np.sort(np.abs(old), -1)
            kept = np.sort(np.abs(np.where(new != 0, old, 0)), -1)
            if not np.allclose(kept[..., 2:], order[..., 2:]):
                problems.append(f"{m}: {name} does not keep the 2 largest weights of each run")
        print(f"2:4 {m}: {checked} weights checked")
        if checked == 0:
            problems.append(f"{m}: no weight became 2:4 sparse")
    return prune_common.finish(problems, "prune-exactness")


if __name__ == "__main__":
    sys.exit(main())
