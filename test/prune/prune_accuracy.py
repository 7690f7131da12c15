#!/usr/bin/python3
"""Pruning without retraining on the trained MobileNetV2-style model,
judged by ONNX Runtime on held-out images.

    prune_accuracy.py --amct build/bin/amct --work DIR

Channel pruning at ratio 0.3 and 0.5 (align 1, and 16 at 0.5), 2:4
sparsity and the automatic search for half the FLOPs of test/ada/mbv2.onnx, each without and with the least-squares
refit on the 64 calibration images (test/ada/mbv2.calib.npy); ONNX Runtime
runs fp32 and every pruned model on the 360 held-out images
(mbv2.eval.npy). Asserts: the pruned models keep the fp32 output shape;
the refit raises top-1 agreement with fp32 and the output cosine in every
setting; ratio 0.5 removes at least 40 % of the FLOPs; the automatic
search removes at least half. Prints the table.
"""
import argparse
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import prune_common  # noqa: E402


def run(cmd):
    return prune_common.run(cmd, "prune-accuracy")
ADA = HERE.parent / "ada"



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model = ADA / "mbv2.onnx"
    settings = {
        "channel 0.3": ["--method", "channel", "--ratio", "0.3", "--align", "1"],
        "channel 0.5": ["--method", "channel", "--ratio", "0.5", "--align", "1"],
        "channel 0.5 align 16": ["--method", "channel", "--ratio", "0.5", "--align", "16"],
        "2:4": ["--method", "2:4"],
        "auto compress 0.5": ["--auto", "--compress-ratio", "0.5", "--align", "1"],
    }
    models, flops = {}, {}
    for key, flags in settings.items():
        for refit in [False, True]:
            name = f"{key} {'refit' if refit else 'no refit'}"
            prefix = work / name.replace(" ", "-").replace(":", "of")
            extra = ["--calib-data", ADA / "mbv2.calib.npy"] + ([] if refit else ["--no-reconstruct"])
            out = run([args.amct, "prune", "--model", model, *flags, *extra, "--save-path", prefix])
            models[name] = Path(f"{prefix}_pruned_model.onnx")
            m = re.search(r"FLOPs: \S+ -> \S+ \(([\d.]+)%\)", out)
            flops[name] = float(m.group(1)) if m else float("nan")
    jobs = [{"model": str(p), "inputs": {"input": str(ADA / "mbv2.eval.npy")},
             "outDir": str(work / "ort" / p.stem), "opt": "disabled"}
            for p in [model] + list(models.values())]
    outs = prune_common.ort_first_outputs(jobs, work, "prune-accuracy")
    ref, labels = outs[0], np.load(ADA / "mbv2.eval_labels.npy")
    problems = []
    metrics = {}
    print(f"{'pruning':32} {'FLOPs':>7} {'cosine':>9} {'top-1 agree':>12} {'accuracy':>9}")
    print(f"{'none (fp32)':32} {100:6.1f}% {1:9.4f} {100:11.2f}% "
          f"{np.mean(ref.argmax(1) == labels) * 100:8.2f}%")
    for name, out in zip(models, outs[1:]):
        if out.shape != ref.shape:
            problems.append(f"{name}: output shape {out.shape} != fp32 {ref.shape}")
            continue
        cos = np.mean((ref * out).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(out, axis=1))
        agree = np.mean(ref.argmax(1) == out.argmax(1))
        metrics[name] = (cos, agree)
        print(f"{name:32} {flops[name]:6.1f}% {cos:9.4f} {agree * 100:11.2f}% "
              f"{np.mean(out.argmax(1) == labels) * 100:8.2f}%")
    for key in settings:
        plain, fitted = metrics.get(f"{key} no refit"), metrics.get(f"{key} refit")
        if plain and fitted and (fitted[0] <= plain[0] or fitted[1] <= plain[1]):
            problems.append(f"{key}: the refit does not raise both cosine and agreement "
                            f"({plain} -> {fitted})")
    if not flops["auto compress 0.5 refit"] <= 50:
        problems.append(f"the search keeps {flops['auto compress 0.5 refit']}% of the FLOPs")
    if not flops["channel 0.5 refit"] <= 60:
        problems.append(f"channel 0.5 keeps {flops['channel 0.5 refit']}% of the FLOPs")
    return prune_common.finish(problems, "prune-accuracy")


if __name__ == "__main__":
    sys.exit(main())
