#!/usr/bin/python3
"""Pruning on the zoo's public architectures, judged by ONNX Runtime.

    prune_zoo.py --amct build/bin/amct --zoo DIR --work DIR [--expect-min N]

For every model test/zoo/make_zoo.py exports (made into --zoo if missing):
`amct prune --method channel --ratio 0.5 --align 1` with the refit on the
model's calibration batch, and `amct prune --method 2:4`. Both must succeed
and ONNX Runtime must run both pruned models with the original's output
names and shapes. Prints per model the groups pruned and the FLOPs kept;
exit 1 on a failure or when fewer than N models had a group pruned.
"""
import argparse
import json
import re
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).resolve().parent
ORT_RUN = HERE.parent / "ort" / "ort_run.js"
MAKE_ZOO = HERE.parent / "zoo" / "make_zoo.py"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--zoo", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--expect-min", type=int, default=0)
    args = ap.parse_args()
    subprocess.run([sys.executable, str(MAKE_ZOO), "--out", str(args.zoo)], check=False)
    manifest = json.loads((args.zoo / "manifest.json").read_text())
    args.work.mkdir(parents=True, exist_ok=True)
    failures, pruned_models, jobs, rows = [], 0, [], []
    for entry in manifest:
        name = entry["name"]
        model = args.zoo / f"{name}.onnx"
        if not model.is_file():
            continue
        calib = []
        for f in sorted((args.zoo / f"{name}.calib").glob("*.npy")):
            calib += ["--calib-data", f"{f.stem}={f}"]
        inputs = {f.stem: str(f) for f in sorted((args.zoo / f"{name}.inputs").glob("*.npy"))}
        outs = {}
        for method, flags in [("channel", ["--method", "channel", "--ratio", "0.5", "--align", "1",
                                           *calib]),
                              ("2:4", ["--method", "2:4"])]:
            prefix = args.work / f"{name}-{method.replace(':', 'of')}"
            p = subprocess.run([args.amct, "prune", "--model", str(model), *flags,
                                "--save-path", str(prefix)], capture_output=True, text=True)
            if p.returncode != 0:
                failures.append(f"{name} {method}: amct prune failed: {p.stderr.strip()}")
                continue
            outs[method] = p.stdout
            jobs.append({"model": str(prefix) + "_pruned_model.onnx", "inputs": inputs,
                         "outDir": str(args.work / "ort" / prefix.name), "opt": "disabled",
                         "tag": (name, method)})
        jobs.append({"model": str(model), "inputs": inputs,
                     "outDir": str(args.work / "ort" / name), "opt": "disabled",
                     "tag": (name, "original")})
        text = outs.get("channel", "")
        groups = len(re.findall(r" -> \d+ channels", text))
        flops = re.search(r"FLOPs: \S+ -> \S+ \(([\d.]+)%\)", text)
        pruned_models += groups > 0
        rows.append((name, groups, flops.group(1) + "%" if flops else "-"))
    (args.work / "jobs.json").write_text(json.dumps([{k: v for k, v in j.items() if k != "tag"}
                                                     for j in jobs]))
    subprocess.run(["node", str(ORT_RUN), str(args.work / "jobs.json"),
                    str(args.work / "results.json")], check=True)
    results = json.loads((args.work / "results.json").read_text())
    shapes = {}
    for job, result in zip(jobs, results):
        name, method = job["tag"]
        if not result["ok"]:
            failures.append(f"{name} {method}: ONNX Runtime cannot run it: {result['error']}")
            continue
        shapes[(name, method)] = [(o["name"], tuple(o["dims"])) for o in result["outputs"]]
    for (name, method), got in shapes.items():
        if method != "original" and (name, "original") in shapes and got != shapes[(name, "original")]:
            failures.append(f"{name} {method}: outputs {got} != original {shapes[(name, 'original')]}")
    print(f"{'model':32} {'groups pruned':>13} {'FLOPs kept':>10}")
    for name, groups, flops in rows:
        print(f"{name:32} {groups:13} {flops:>10}")
    for f in failures:
        print("FAIL:", f)
    if pruned_models < args.expect_min:
        print(f"FAIL: {pruned_models} models had a group pruned, expected at least {args.expect_min}")
        failures.append("too few")
    print(f"prune-zoo: {len(rows)} models, {pruned_models} pruned, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
