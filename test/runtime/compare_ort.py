#!/usr/bin/python3
"""The executor against ONNX Runtime on the project's own trained models.

For each test/models/<name>.onnx: ONNX Runtime (test/ort/ort_run.js) and
`amct run` process the same held-out inputs; every output must agree within
--atol (absolute, scaled by max(1, |ort|)), and the argmax of the logits must
agree on every sample. Also checks --batch-size gives the same result.
Prints `executor-vs-ort: P passed, F failed`; exit 1 on any failure.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ORT_RUN = REPO / "test" / "ort" / "ort_run.js"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True, help="the amct binary")
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amct-vs-ort-"))
    jobs, cases = [], []
    for model in args.models:
        name = model.stem
        inputs = {p.stem: str(p) for p in sorted(model.with_suffix(".inputs").glob("*.npy"))}
        out = work / name / "ort"
        out.mkdir(parents=True)
        jobs.append({"model": str(model), "inputs": inputs, "outDir": str(out)})
        cases.append((name, model, inputs))
    (work / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run(["node", str(ORT_RUN), str(work / "jobs.json"), str(work / "results.json")],
                   check=True)
    results = json.loads((work / "results.json").read_text())
    passed = failed = 0
    for (name, model, inputs), res in zip(cases, results):
        problems = []
        if not res["ok"]:
            problems.append(f"ORT failed: {res['error']}")
        for batch in (None, 7):
            outdir = work / name / ("amct" if batch is None else f"amct-b{batch}")
            cmd = [args.amct, "run", "--model", str(model), "--output-dir", str(outdir)]
            cmd += [f"--input={k}={v}" for k, v in inputs.items()]
            if batch:
                cmd += ["--batch-size", str(batch)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                problems.append(f"amct run failed: {proc.stderr.strip()}")
                continue
            for out in res.get("outputs", []):
                ref = np.load(out["file"])
                got = np.load(outdir / (out["name"] + ".npy"))
                if got.shape != ref.shape or got.dtype != ref.dtype:
                    problems.append(f"{out['name']}: {got.dtype}{got.shape} vs ORT {ref.dtype}{ref.shape}")
                    continue
                diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
                tol = args.atol * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
                agree = float(np.mean(np.argmax(got, -1) == np.argmax(ref, -1))) if ref.ndim == 2 else 1.0
                tag = "" if batch is None else f" (batch {batch})"
                print(f"  {name}{tag}: {out['name']} max|diff| {diff:.2e} (tol {tol:.1e}), "
                      f"top-1 agreement {agree * 100:.1f}%")
                if diff > tol or agree < 1.0:
                    problems.append(f"{out['name']}{tag}: max|diff| {diff:.3e} > {tol:.1e} or top-1 {agree:.3f}")
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
    print(f"executor-vs-ort: {passed} passed, {failed} failed")
    # The scratch folder stays only when something failed, for a look.
    if failed:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
