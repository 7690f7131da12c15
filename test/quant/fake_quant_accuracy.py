#!/usr/bin/python3
"""Accuracy of the fake-quant model, judged by ONNX Runtime.

For each own model: `amct quantize` calibrates on the first half of the held-out
samples; ONNX Runtime then runs the fp32 model and the fake-quant model on all
samples, with graph optimisations off (the QDQ graph as written: ONNX's exact
semantics) and on (ORT fuses QDQ into int8 kernels). Asserts mean output
cosine similarity >= --min-cosine and top-1 agreement >= --min-agreement of
the unoptimised run against fp32, and that ORT's two optimisation levels
agree with each other where ORT's int8 kernels are exact: on x86 CPUs
without VNNI, ORT's u8s8 kernels sum pairs of products in saturating int16
(vpmaddubsw; ORT's quantization docs name the problem and recommend
reduce_range there), so the optimised run can differ by whole steps there;
the difference is printed, not asserted, on such CPUs.
The executor (`amct run`) runs the fake-quant model too (it has
QuantizeLinear / DequantizeLinear kernels); its output must be within
--max-deploy-steps of ORT's. The deploy model (Ascend ops) is simulated by
`amct run`; against ORT's
(unoptimised) fake-quant output every difference must be within
--max-deploy-steps (default 1) quantization steps of the last layer's input
(scale_d). The two models compute the same integers (the fake-quant model
carries the int32 bias too); what is left is float summation order in ORT,
which now and then moves a value across a rounding boundary of the next
layer's quantizer.
Prints `fake-quant-accuracy: P passed, F failed`.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def ort_int8_kernels_exact():
    """ORT's int8 GEMM is exact on ARM and on x86 with VNNI; on x86 without
    it the u8s8 path saturates int16 pair sums."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return True
    if "avx2" not in info:
        return True
    return "avx512_vnni" in info or "avx_vnni" in info

REPO = Path(__file__).resolve().parents[2]
ORT_RUN = REPO / "test" / "ort" / "ort_run.js"


def cosine_rows(a, b):
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    num = (a * b).sum(1)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1)) + 1e-300
    return num / den


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--min-cosine", type=float, default=0.9995)
    ap.add_argument("--min-agreement", type=float, default=0.995)
    ap.add_argument("--max-deploy-steps", type=float, default=1.0)
    ap.add_argument("--config", type=Path, help="quant config for amct quantize (default: its own)")
    ap.add_argument("--expect-record-field", default="",
                    help="fail unless every record has this field (e.g. tensor_balance_factor)")
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="amct-fq-"))
    jobs, cases = [], []
    for model in args.models:
        name = model.stem
        inputs = {p.stem: p for p in sorted(model.with_suffix(".inputs").glob("*.npy"))}
        calib = {}
        for k, p in inputs.items():
            x = np.load(p)
            calib[k] = work / f"{name}.calib.{k}.npy"
            np.save(calib[k], x[: len(x) // 2])
        prefix = work / name / name
        cmd = [args.amct, "quantize", "--model", str(model), "--save-path", str(prefix),
               "--batch-num", "2"] + [f"--calib-data={k}={v}" for k, v in calib.items()]
        if args.config:
            cmd += ["--config", str(args.config)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        print(proc.stdout, end="")
        if proc.returncode != 0:
            cases.append((name, None, proc.stderr.strip()))
            continue
        fq = Path(str(prefix) + "_fake_quant_model.onnx")
        feeds = {k: str(v) for k, v in inputs.items()}
        for tag, path, opt in (("fp32", model, "all"), ("fq", fq, "all"), ("fq-noopt", fq, "disabled")):
            out = work / name / tag
            out.mkdir(parents=True, exist_ok=True)
            jobs.append({"model": str(path), "inputs": feeds, "outDir": str(out), "opt": opt})
        cases.append((name, model, None))
    (work / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run(["node", str(ORT_RUN), str(work / "jobs.json"), str(work / "results.json")], check=True)
    results = {(r["model"], Path(r["outputs"][0]["file"]).parent.name if r["outputs"] else ""): r
               for r in json.loads((work / "results.json").read_text())}
    passed = failed = 0
    for name, model, err in cases:
        if err:
            print(f"FAIL {name}: amct quantize failed: {err}")
            failed += 1
            continue
        outs = {}
        problems = []
        for tag in ("fp32", "fq", "fq-noopt"):
            files = sorted((work / name / tag).glob("*.npy"))
            if not files:
                problems.append(f"ORT produced no output for {tag}")
                continue
            outs[tag] = np.load(files[0])
        if not problems:
            ref, opt_on, noopt = outs["fp32"], outs["fq"], outs["fq-noopt"]
            got = noopt
            cos = cosine_rows(ref, got)
            agree = float(np.mean(ref.argmax(-1) == got.argmax(-1)))
            opt_diff = float(np.abs(opt_on - noopt).max())
            labels = model.with_suffix(".labels.npy")
            acc = ""
            if labels.exists():
                y = np.load(labels)
                acc = (f", accuracy fp32 {np.mean(ref.argmax(-1) == y) * 100:.1f}% "
                       f"fake-quant {np.mean(got.argmax(-1) == y) * 100:.1f}%")
            print(f"  {name}: mean cosine {cos.mean():.6f} (min {cos.min():.6f}), top-1 agreement "
                  f"{agree * 100:.1f}%, ORT opt-on vs opt-off max|diff| {opt_diff:.2e}{acc}")
            if cos.mean() < args.min_cosine:
                problems.append(f"mean cosine {cos.mean():.6f} < {args.min_cosine}")
            if agree < args.min_agreement:
                problems.append(f"top-1 agreement {agree:.4f} < {args.min_agreement}")
            scale = max(1.0, float(np.abs(ref).max()))
            if opt_diff > 0.05 * scale and ort_int8_kernels_exact():
                problems.append(f"ORT optimised and unoptimised fake-quant differ by {opt_diff:.3e}")
            # The deploy model and the fake-quant model on the executor vs
            # the fake-quant model in ORT.
            prefix = work / name / name
            for kind in ("fake_quant", "deploy"):
                out_dir = work / name / f"amct-{kind}"
                cmd = [args.amct, "run", "--model", f"{prefix}_{kind}_model.onnx",
                       "--output-dir", str(out_dir)]
                cmd += [f"--input={p.stem}={p}"
                        for p in sorted(model.with_suffix(".inputs").glob("*.npy"))]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    problems.append(f"amct run on the {kind} model failed: "
                                    f"{proc.stderr.strip()[:300]}")
            record = (Path(str(prefix) + "_record.txt")).read_text()
            step = float(record.split("scale_d:")[-1].split()[0])
            if args.expect_record_field and args.expect_record_field not in record:
                problems.append(f"the record has no {args.expect_record_field}")
            fq_files = sorted((work / name / "amct-fake_quant").glob("*.npy"))
            if fq_files:
                d = np.abs(np.load(fq_files[0]).astype(np.float64) - noopt)
                print(f"  {name}: fake-quant model on the executor vs ORT: max |diff| "
                      f"{d.max() / step:.2f} steps")
                if d.max() > args.max_deploy_steps * step:
                    problems.append(f"the executor's fake-quant output differs from ORT's by "
                                    f"{d.max():.3g} (step {step:.3g})")
            dep_files = sorted((work / name / "amct-deploy").glob("*.npy"))
            if dep_files:
                dep = np.load(dep_files[0])
                d = np.abs(dep.astype(np.float64) - noopt)
                dagree = float(np.mean(dep.argmax(-1) == noopt.argmax(-1)))
                print(f"  {name}: deploy simulation vs ORT fake-quant: median |diff| "
                      f"{np.median(d) / step:.2f} steps, max {d.max() / step:.2f} steps "
                      f"(step {step:.3g}), {np.mean(d <= 0.5 * step) * 100:.2f}% within "
                      f"half a step, top-1 agreement {dagree * 100:.1f}%")
                if np.median(d) > step or d.max() > args.max_deploy_steps * step or dagree < args.min_agreement:
                    problems.append(f"deploy simulation differs: median {np.median(d):.3g}, "
                                    f"max {d.max():.3g}, step {step:.3g}, top-1 {dagree:.3f}")
        if problems:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            passed += 1
    print(f"fake-quant-accuracy: {passed} passed, {failed} failed")
    # The scratch folder stays only when something failed, for a look.
    if failed:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
