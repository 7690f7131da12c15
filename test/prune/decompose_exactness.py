#!/usr/bin/python3
"""Tensor decomposition judged by ONNX Runtime.

    decompose_exactness.py --amct build/bin/amct --work DIR

On the pruning test models (make_prune_models.py: residual with BN,
depthwise, Concat, Flatten -> Linear, transformer MLP, ConvTranspose
decoder) and the repo's cnn_bn, mlp and transformer:
1. at full rank (--energy 1 --even-if-larger) the decomposed model's
   outputs equal the original's in ONNX Runtime within 1e-5 (relative to
   the output's scale), and every layer but depthwise / ConvTranspose ones
   was decomposed;
2. at --ratio 0.5 each decomposed layer's multiply-adds per position (the
   info file's) are at most half the original's, the model's reported
   FLOPs drop, its layer weights shrink (counted here from the ONNX file),
   and ONNX Runtime runs it with the original's output shapes;
3. re-applying the info file (--info) reproduces the model byte for byte.
Exit 1 on any failure.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import prune_common  # noqa: E402


def run(cmd):
    return prune_common.run(cmd, "decompose-exactness")
REPO = HERE.parents[1]
PRUNE_MODELS = prune_common.PRUNE_MODELS
REPO_MODELS = ["cnn_bn", "mlp", "transformer"]



def weight_count(path):
    """Elements of the Conv / Gemm / MatMul weight initializers."""
    graph = onnx.load(str(path)).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:  # torch's Linear: MatMul(x, Transpose(W))
        if n.op_type == "Transpose" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]].T
    return sum(inits[n.input[1]].size for n in graph.node
               if n.op_type in ("Conv", "Gemm", "MatMul", "ConvTranspose") and len(n.input) > 1
               and n.input[1] in inits)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    models_dir = prune_common.prune_models(work, "decompose-exactness")
    models = {m: (models_dir / f"{m}.onnx", {"input": str(models_dir / f"{m}.input.npy")})
              for m in PRUNE_MODELS}
    for m in REPO_MODELS:
        inputs = {p.stem: str(p) for p in (REPO / "test" / "models" / f"{m}.inputs").glob("*.npy")}
        models[m] = (REPO / "test" / "models" / f"{m}.onnx", inputs)
    problems, jobs = [], []
    for name, (model, inputs) in models.items():
        full = work / "full" / name
        out = run([args.amct, "decompose", "--model", model, "--energy", "1", "--even-if-larger",
                   "--save-path", full])
        for line in out.splitlines():
            if "not decomposed" in line and "group 1" not in line and \
                    "only Conv2d and Linear" not in line:
                problems.append(f"{name}: full-rank run left a layer: {line}")
        half = work / "half" / name
        out = run([args.amct, "decompose", "--model", model, "--ratio", "0.5", "--save-path", half])
        flops = re.search(r"FLOPs: \S+ -> \S+ \(([\d.]+)%\)", out)
        if not flops or float(flops.group(1)) >= 100:
            problems.append(f"{name}: ratio 0.5 keeps {flops.group(1) if flops else '?'}% of the FLOPs")
        again = work / "again" / name
        run([args.amct, "decompose", "--model", model, "--info", f"{half}_decompose_info.json",
             "--save-path", again])
        if Path(f"{again}_decomposed_model.onnx").read_bytes() != \
                Path(f"{half}_decomposed_model.onnx").read_bytes():
            problems.append(f"{name}: re-applying the info file does not reproduce the model")
        info = json.loads(Path(f"{half}_decompose_info.json").read_text())["decompose_info"]
        for layer in info:
            before, after = layer["macs_per_position"]
            if after > 0.5 * before + 1e-9:
                problems.append(f"{name}: {layer['name']} keeps {after} of {before} multiply-adds")
        if not info:
            problems.append(f"{name}: nothing decomposed at ratio 0.5")
        if weight_count(f"{half}_decomposed_model.onnx") >= weight_count(model):
            problems.append(f"{name}: the layer weights did not shrink")
        print(f"{name:16} ratio 0.5: {len(info)} layers, FLOPs {flops.group(1) if flops else '?'}%, "
              f"weights {weight_count(model)} -> {weight_count(f'{half}_decomposed_model.onnx')}")
        for path in [model, Path(f"{full}_decomposed_model.onnx"),
                     Path(f"{half}_decomposed_model.onnx")]:
            jobs.append({"model": str(path), "inputs": inputs,
                         "outDir": str(work / "ort" / f"{name}-{path.parent.name}"),
                         "opt": "disabled"})
    outs = prune_common.ort_first_outputs(jobs, work, "decompose-exactness")
    for i, name in enumerate(models):
        ref, full, half = outs[3 * i:3 * i + 3]
        scale = max(1.0, float(np.abs(ref).max()))
        diff = float(np.abs(ref - full).max()) / scale if ref.shape == full.shape else float("inf")
        print(f"{name:16} full rank: max |diff| / scale {diff:.3e}; ratio 0.5 output {half.shape}")
        if diff > 1e-5:
            problems.append(f"{name}: the full-rank decomposition differs by {diff:.3e}")
        if half.shape != ref.shape:
            problems.append(f"{name}: ratio 0.5 output {half.shape} != {ref.shape}")
    return prune_common.finish(problems, "decompose-exactness")


if __name__ == "__main__":
    sys.exit(main())
