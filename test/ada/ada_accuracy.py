#!/usr/bin/python3
"""ADA against ARQ on the trained MobileNetV2-style model, judged by ONNX Runtime.

    ada_accuracy.py --amct build/bin/amct --work DIR [--iterations N]

(N: num_iteration; by default the config's own, AMCT's 10000.)

Quantizes test/ada/mbv2.onnx (calibration: mbv2.calib.npy, 64 training
images) four ways: per-tensor and per-channel weights, each with ARQ and
with ADA on every Conv / Linear. ONNX Runtime runs the fp32
model and the four fake-quant models (graph optimisations off: ONNX's own
QDQ semantics) on the 360 held-out images; asserts that with per-tensor
weights ADA closes at least 30 % of ARQ's loss in mean output cosine and in
top-1 agreement with fp32 (no loss allowed where ARQ has none), and that
with per-channel weights ADA is no worse than ARQ in either. Prints the
table. Exit 1 on failure.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ORT_RUN = REPO / "test" / "ort" / "ort_run.js"


def run(cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"ada-accuracy: {' '.join(map(str, cmd))} failed:\n{p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--iterations", type=int, default=0)
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model = HERE / "mbv2.onnx"
    run([args.amct, "create-config", "--model", model, "-o", work / "default.json"])
    base = json.loads((work / "default.json").read_text())

    variants = {}
    for granularity in ["per-tensor", "per-channel"]:
        for algo in ["arq", "ada"]:
            config = json.loads(json.dumps(base))
            for name, layer in config.items():
                if not isinstance(layer, dict) or "weight_quant_params" not in layer:
                    continue
                wts = layer["weight_quant_params"]
                if granularity == "per-tensor":
                    wts["channel_wise"] = False
                if algo == "ada" and "AveragePool" not in name:
                    wts["wts_algo"] = "ada_quantize"
                    if args.iterations:
                        wts["num_iteration"] = args.iterations
            key = f"{granularity} {algo}"
            path = work / f"{granularity}-{algo}.json"
            path.write_text(json.dumps(config))
            prefix = work / f"{granularity}-{algo}"
            run([args.amct, "quantize", "--model", model, "--config", path, "--calib-data",
                 HERE / "mbv2.calib.npy", "--save-path", prefix])
            variants[key] = Path(str(prefix) + "_fake_quant_model.onnx")

    jobs = [{"model": str(m), "inputs": {"input": str(HERE / "mbv2.eval.npy")},
             "outDir": str(work / "ort" / key.replace(" ", "-")), "opt": "disabled"}
            for key, m in [("fp32", model)] + list(variants.items())]
    (work / "jobs.json").write_text(json.dumps(jobs))
    run(["node", ORT_RUN, work / "jobs.json", work / "results.json"])
    results = json.loads((work / "results.json").read_text())
    outs = {}
    for key, result in zip(["fp32"] + list(variants), results):
        if not result["ok"]:
            sys.exit(f"ada-accuracy: ONNX Runtime cannot run {key}: {result['error']}")
        outs[key] = np.load(result["outputs"][0]["file"]).astype(np.float64)
    ref = outs["fp32"]
    labels = np.load(HERE / "mbv2.eval_labels.npy")
    metrics = {}
    print(f"{'weights':24} {'mean cosine':>12} {'cosine loss':>12} {'top-1 agree':>12} "
          f"{'accuracy':>9}")
    print(f"{'fp32':24} {1:12.6f} {0:12.3e} {100:11.2f}% "
          f"{np.mean(ref.argmax(1) == labels) * 100:8.2f}%")
    for key in variants:
        out = outs[key]
        cos = np.mean((ref * out).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(out, axis=1))
        agree = np.mean(ref.argmax(1) == out.argmax(1))
        metrics[key] = (1 - cos, 1 - agree)
        print(f"{key:24} {cos:12.6f} {1 - cos:12.3e} {agree * 100:11.2f}% "
              f"{np.mean(out.argmax(1) == labels) * 100:8.2f}%")

    problems = []
    arq, ada = metrics["per-tensor arq"], metrics["per-tensor ada"]
    for i, what in enumerate(["cosine", "top-1 agreement"]):
        closed = 1 - ada[i] / arq[i] if arq[i] > 0 else (1.0 if ada[i] == 0 else -1.0)
        print(f"per-tensor: ADA closes {closed * 100:.1f}% of ARQ's {what} loss")
        if closed < 0.3:
            problems.append(f"per-tensor ADA closes only {closed * 100:.1f}% of ARQ's {what} loss")
    arq, ada = metrics["per-channel arq"], metrics["per-channel ada"]
    for i, what in enumerate(["cosine", "top-1 agreement"]):
        if ada[i] > arq[i] + 1e-12:
            problems.append(f"per-channel ADA loses more {what} than ARQ ({ada[i]:.3e} > {arq[i]:.3e})")
    for p in problems:
        print("FAIL:", p)
    print("ada-accuracy:", "FAILED" if problems else "passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
