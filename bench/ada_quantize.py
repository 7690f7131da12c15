#!/usr/bin/python3
"""ADA rounding's cost: `amct quantize` with wts_algo ada_quantize (AMCT's
defaults: 10000 iterations, reg_param 0.01, beta_range [20, 2], warm_start
0.2) on every Conv / Linear of the trained MobileNetV2-style model
test/ada/mbv2.onnx (349 k parameters, 64 calibration images of 16x16),
against the same job with ARQ:

    bench/ada_quantize.py [--build DIR] [--threads N] [--per-tensor]

Prints both wall times, the `--time-report` breakdown of the ADA run, and
the peak RSS. Nothing is subsampled: every calibration image and every
output position enters each layer's Gram matrices (accumulated once per
layer); the 10000 iterations then cost rows x K x K per group each,
whatever the amount of data.
"""
import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from benchproc import timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--per-tensor", action="store_true")
    args = ap.parse_args()
    amct = Path(args.build) / "bin" / "amct"
    work = Path(args.build) / "bench" / "ada"
    work.mkdir(parents=True, exist_ok=True)
    model = REPO / "test" / "ada" / "mbv2.onnx"
    calib = REPO / "test" / "ada" / "mbv2.calib.npy"
    timed([str(amct), "create-config", "--model", str(model), "-o", str(work / "arq.json")])
    config = json.loads((work / "arq.json").read_text())
    for name, layer in config.items():
        if isinstance(layer, dict) and "weight_quant_params" in layer:
            if args.per_tensor:
                layer["weight_quant_params"]["channel_wise"] = False
    (work / "arq.json").write_text(json.dumps(config))
    for name, layer in config.items():
        if isinstance(layer, dict) and "weight_quant_params" in layer and "AveragePool" not in name:
            layer["weight_quant_params"]["wts_algo"] = "ada_quantize"
    (work / "ada.json").write_text(json.dumps(config))
    times = {}
    for algo in ["arq", "ada"]:
        wall, rss, cpu, stdout, stderr = timed(
            [str(amct), "quantize", "--model", str(model), "--config", str(work / f"{algo}.json"),
             "--calib-data", str(calib), "--save-path", str(work / algo), "--threads",
             str(args.threads), "--time-report"])
        times[algo] = (wall, rss)
        if algo == "ada":
            print(stderr.split("\tCommand being timed")[0].strip())
    for algo, (wall, rss) in times.items():
        print(f"{algo}: {wall:.1f} s wall, peak RSS {rss / 1048576:.0f} MB")


if __name__ == "__main__":
    main()
