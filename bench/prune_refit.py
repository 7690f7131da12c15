#!/usr/bin/python3
"""Pruning's cost with the least-squares refit: `amct prune --method channel
--ratio 0.5 --align 1` with and without `--calib-data` on the zoo's
ResNet-18 (torchvision's architecture, 64x64 inputs, its calibration batch)
and the automatic search (`--auto --compress-ratio 0.5`):

    bench/prune_refit.py [--build DIR] [--threads N]

Makes the model with test/zoo/make_zoo.py into the build folder if it is
not there. Prints wall time and peak RSS of each run.
"""
import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from benchproc import timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    build = Path(args.build)
    amct = build / "bin" / "amct"
    zoo = build / "test" / "zoo-models"
    subprocess.run([sys.executable, str(REPO / "test" / "zoo" / "make_zoo.py"), "--out", str(zoo),
                    "--filter", "^resnet18$"], check=True, capture_output=True)
    model = zoo / "resnet18.onnx"
    calib = []
    for f in sorted((zoo / "resnet18.calib").glob("*.npy")):
        calib += ["--calib-data", f"{f.stem}={f}"]
    work = build / "bench" / "prune"
    work.mkdir(parents=True, exist_ok=True)
    runs = {
        "channel 0.5, no refit": ["--method", "channel", "--ratio", "0.5", "--align", "1"],
        "channel 0.5, refit": ["--method", "channel", "--ratio", "0.5", "--align", "1", *calib],
        "auto 0.5, refit": ["--auto", "--compress-ratio", "0.5", "--align", "1", *calib],
    }
    for name, flags in runs.items():
        wall, rss, cpu, stdout, _ = timed([str(amct), "prune", "--model", str(model), *flags,
                                           "--threads", str(args.threads), "--save-path",
                                           str(work / name.replace(" ", "_").replace(",", ""))])
        flops = [line for line in stdout.splitlines() if line.startswith("FLOPs")]
        print(f"{name:24} {wall:6.1f} s wall, peak RSS {rss / 1048576:6.0f} MB; {flops[0]}")


if __name__ == "__main__":
    main()
