#!/usr/bin/python3
"""Models from the wild on the executor and the quantizer, judged by ONNX Runtime.

For each model test/zoo/make_zoo.py exports (public architectures with random
weights: torchvision classifiers, segmenters and detectors, recurrent, audio
and video models, language-model blocks shaped like GPT-2, Llama, BERT, T5 and
Whisper, at opsets 13 to 17):

1. `amct run` on the model's inputs: every graph output present, same shape
   and dtype as ONNX Runtime's, max |diff| <= --rtol * max(1, max |ORT|).
2. `amct quantize` with the default config on the model's calibration batch:
   it must succeed, and ONNX Runtime must run the fake-quant model with the
   same output names and shapes as the original's.

3. The language-model-shaped ones (GPT-2, Llama with and without KV cache,
   BERT, T5, Whisper, ViT, Swin) also through the weight-only flow (int4 in
   groups of 32, GPTQ): the deploy model (WeightQuantBatchMatmulV2) on the
   executor must give the fake-quant model's bits, and ONNX Runtime's run
   of the fake-quant model must match it within --rtol; and through W8A8
   (int8 weights per channel, int8 inputs per token, SmoothQuant): ONNX
   Runtime's fake-quant run and the deploy model (DynamicQuant +
   QuantBatchMatmulV3) on the executor within 0.1 % of the output's range
   (integer sums against float sums, which can move a rounding by a step).

Prints one line per model and last `zoo: P passed, F failed`; exit 1 on any
failure or if P < --expect-min. Models are made once into --zoo (cached by the
generator's hash). Run with /usr/bin/python3 (Debian's torch, torchvision,
onnx, numpy).
"""

import argparse
import concurrent.futures
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
ORT_RUN = REPO / "test" / "ort" / "ort_run.js"
MAKE_ZOO = Path(__file__).resolve().parent / "make_zoo.py"


def sanitize(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def run_ort(jobs, work, tag):
    """ORT results per job (ort_run.js runs the batch in one process)."""
    jobs_file, results_file = work / f"{tag}_jobs.json", work / f"{tag}_results.json"
    jobs_file.write_text(json.dumps(jobs))
    subprocess.run(["node", str(ORT_RUN), str(jobs_file), str(results_file)], check=True)
    return json.loads(results_file.read_text())


def check_run(amct, model, inputs, outdir, ort_res, rtol):
    """Problems of `amct run` against ORT's outputs."""
    cmd = [amct, "run", "--model", str(model), "--output-dir", str(outdir)]
    cmd += [f"--input={k}={v}" for k, v in inputs.items()]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return [f"amct run failed: {' '.join(p.stderr.split())[:400]}"], 0.0
    problems, worst = [], 0.0
    for out in ort_res["outputs"]:
        ref = np.load(out["file"])
        got_file = outdir / (sanitize(out["name"]) + ".npy")
        if not got_file.is_file():
            problems.append(f"output '{out['name']}' missing")
            continue
        got = np.load(got_file)
        if got.shape != ref.shape or got.dtype != ref.dtype:
            problems.append(f"{out['name']}: {got.dtype}{got.shape} vs ORT {ref.dtype}{ref.shape}")
            continue
        if ref.size == 0:
            continue
        if ref.dtype.kind in "biu":
            if not np.array_equal(got, ref):
                problems.append(f"{out['name']}: integer outputs differ")
            continue
        diff = float(np.max(np.abs(got.astype(np.float64) - ref)))
        scale = max(1.0, float(np.max(np.abs(ref))))
        worst = max(worst, diff / scale)
        if not diff <= rtol * scale:
            problems.append(f"{out['name']}: max|diff| {diff:.3g} > {rtol:g} x {scale:.3g}")
    return problems, worst


def quantize(amct, model, calib, prefix):
    cmd = [amct, "quantize", "--model", str(model), "--save-path", str(prefix)]
    cmd += [f"--calib-data={k}={v}" for k, v in calib.items()]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return f"amct quantize failed: {' '.join(p.stderr.split())[:400]}", ""
    # "N of M layers quantized" or similar summary line, for the log.
    summary = next((l.strip() for l in p.stdout.splitlines() if "quantized" in l), "")
    return None, summary


LLM_SHAPED = {"bert", "gpt2", "llama", "llama_kv", "t5_encoder", "t5_decoder",
              "whisper_encoder", "vit", "swin"}
LLM_CONFIG = {"batch_num": 1, "algorithm": "gptq",
              "quant_cfg": {"weights": {"type": "int4", "strategy": "group", "group_size": 32}}}
W8A8_CONFIG = {"batch_num": 1, "algorithm": "smoothquant",
               "quant_cfg": {"weights": {"type": "int8", "strategy": "channel"},
                             "inputs": {"type": "int8", "strategy": "token"}}}
W8A8_RTOL = 1e-3


def quantize_llm(amct, model, calib, inputs, work, config_dict=LLM_CONFIG, prefix="llm",
                 exact=True):
    """A language-model flow: problems, and the executor's deploy outputs
    (the weight-only flow's must be the fake-quant model's bits)."""
    config = work / f"{prefix}.json"
    config.write_text(json.dumps(config_dict))
    cmd = [amct, "quantize", "--model", str(model), "--config", str(config),
           "--save-path", str(work / prefix), "--cosine-samples", "0"]
    cmd += [f"--calib-data={k}={v}" for k, v in calib.items()]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return [f"{prefix} amct quantize failed: {' '.join(p.stderr.split())[:400]}"], None
    outs = {}
    for kind in ("deploy", "fake_quant"):
        outdir = work / f"{prefix}_{kind}_out"
        cmd = [amct, "run", "--model", str(work / f"{prefix}_{kind}_model.onnx"),
               "--output-dir", str(outdir)] + [f"--input={k}={v}" for k, v in inputs.items()]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return [f"amct run of the {prefix} {kind} model failed: "
                    f"{' '.join(p.stderr.split())[:300]}"], None
        outs[kind] = {f.stem: np.load(f) for f in sorted(outdir.glob("*.npy"))}
    problems = [f"{prefix} deploy output {k} differs from the fake-quant model's"
                for k in outs["deploy"]
                if exact and outs["deploy"][k].tobytes() !=
                outs["fake_quant"].get(k, np.zeros(0)).tobytes()]
    return problems, outs["deploy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--amct", required=True)
    ap.add_argument("--zoo", type=Path, required=True, help="models (made here if missing)")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--filter", help="only models whose name matches this regex")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--expect-min", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    start = time.monotonic()

    make = [sys.executable, str(MAKE_ZOO), "--out", str(args.zoo)]
    if args.filter:
        make += ["--filter", args.filter]
    if subprocess.run(make).returncode != 0:
        print("zoo: some models could not be made (see above)")
    manifest = json.loads((args.zoo / "manifest.json").read_text())
    models = [m for m in manifest if (args.zoo / f"{m['name']}.onnx").is_file()]
    if args.filter:
        models = [m for m in models if re.search(args.filter, m["name"])]
    args.work.mkdir(parents=True, exist_ok=True)

    def npys(folder):
        return {p.stem: str(p) for p in sorted(folder.glob("*.npy"))}

    cases = []
    for m in models:
        name = m["name"]
        cases.append(dict(name=name, model=args.zoo / f"{name}.onnx",
                          inputs=npys(args.zoo / f"{name}.inputs"),
                          calib=npys(args.zoo / f"{name}.calib"),
                          work=args.work / name, meta=m))
    for c in cases:
        c["work"].mkdir(parents=True, exist_ok=True)

    # 1. The originals in ORT, then ours.
    ort = run_ort([{"model": str(c["model"]), "inputs": c["inputs"],
                    "outDir": str(c["work"] / "ort")} for c in cases], args.work, "original")

    def judge(c, res):
        problems = [] if res["ok"] else [f"ORT cannot run the original: {res['error']}"]
        worst = 0.0
        if res["ok"]:
            p, worst = check_run(args.amct, c["model"], c["inputs"], c["work"] / "amct", res,
                                 args.rtol)
            problems += p
        why, summary = quantize(args.amct, c["model"], c["calib"], c["work"] / "q")
        if why:
            problems.append(why)
        if c["name"] in LLM_SHAPED:
            p, c["llm_deploy"] = quantize_llm(args.amct, c["model"], c["calib"], c["inputs"],
                                              c["work"])
            problems += p
            p, c["w8a8_deploy"] = quantize_llm(args.amct, c["model"], c["calib"], c["inputs"],
                                               c["work"], W8A8_CONFIG, "w8a8", exact=False)
            problems += p
        return problems, worst, summary

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        judged = list(pool.map(lambda cr: judge(*cr), zip(cases, ort)))

    # 2. The fake-quant models in ORT: same output names and shapes.
    fq_cases = [(c, r) for c, r, (p, _, _) in zip(cases, ort, judged)
                if (c["work"] / "q_fake_quant_model.onnx").is_file()]
    fq = run_ort([{"model": str(c["work"] / "q_fake_quant_model.onnx"), "inputs": c["inputs"],
                   "outDir": str(c["work"] / "ort_fq")} for c, _ in fq_cases], args.work, "fq")
    fq_by_name = {c["name"]: (r, f) for (c, r), f in zip(fq_cases, fq)}

    # 3. The language-model fake-quant models in ORT against the deploy
    # models on the executor.
    llm_problems = {}
    for prefix, key, rtol, what in (("llm", "llm_deploy", args.rtol, "weight-only"),
                                    ("w8a8", "w8a8_deploy", W8A8_RTOL, "W8A8")):
        llm_cases = [c for c in cases if c.get(key)]
        llm_ort = run_ort([{"model": str(c["work"] / f"{prefix}_fake_quant_model.onnx"),
                            "inputs": c["inputs"], "outDir": str(c["work"] / f"ort_{prefix}"),
                            "opt": "disabled"} for c in llm_cases], args.work, prefix)
        for c, res in zip(llm_cases, llm_ort):
            probs = llm_problems.setdefault(c["name"], [])
            if not res["ok"]:
                probs.append(f"ORT cannot run the {what} fake-quant model: {res['error'][:300]}")
                continue
            for out in res["outputs"]:
                ref = np.load(out["file"])
                got = c[key].get(sanitize(out["name"]))
                if got is None or got.shape != ref.shape:
                    probs.append(f"{what} output {out['name']}: missing or shape differs")
                    continue
                if ref.dtype.kind != "f":
                    continue
                tol = rtol * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
                diff = float(np.abs(got.astype(np.float64) - ref).max()) if ref.size else 0.0
                if diff > tol:
                    probs.append(f"{what} output {out['name']}: deploy (executor) vs "
                                 f"fake-quant (ORT) max |diff| {diff:.3g} > {tol:.3g}")

    passed = failed = 0
    for c, (problems, worst, summary) in zip(cases, judged):
        problems += llm_problems.get(c["name"], [])
        if c["name"] in LLM_SHAPED and not problems:
            summary += "; int4 weight-only and W8A8 per token: deploy agrees with ORT"
        if c["name"] in fq_by_name:
            orig, res = fq_by_name[c["name"]]
            if not res["ok"]:
                problems.append(f"ORT cannot run the fake-quant model: {res['error'][:300]}")
            elif orig["ok"]:
                want = [(o["name"], tuple(o["dims"])) for o in orig["outputs"]]
                got = [(o["name"], tuple(o["dims"])) for o in res["outputs"]]
                if want != got:
                    problems.append(f"fake-quant outputs {got} differ from the original's {want}")
        status = "ok  " if not problems else "FAIL"
        print(f"{status} {c['name']:28s} opset {c['meta'].get('opset', '?'):>2}  "
              f"max rel diff {worst:.1e}  {summary}")
        for p in problems:
            print(f"       {p}")
        passed += not problems
        failed += bool(problems)
    print(f"{time.monotonic() - start:.0f} s")
    status = 1 if failed else 0
    if passed < args.expect_min:
        print(f"zoo: only {passed} passed, expected at least {args.expect_min}")
        status = 1
    print(f"zoo: {passed} passed, {failed} failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
