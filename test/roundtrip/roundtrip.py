#!/usr/bin/python3
"""Import -> export round-trip conformance test, judged by ONNX Runtime.

For each model: ORT runs the original; amct-translate imports it to MLIR and
exports it back to ONNX; the export must pass onnx.checker, keep the graph's
input/output names, and give the same outputs in ORT as the original did.

Models come from ONNX's backend test data (default) or from --models FILE...
(`<name>.onnx` with inputs in `<name>.inputs/<input name>.npy`, or in a
sibling `inputs/` folder).
`--translate copy` stands in for the translator (copies the model) to test the
harness itself. Run with /usr/bin/python3 (Debian's onnx and numpy).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

REPO = Path(__file__).resolve().parents[2]
ORT_RUN = REPO / "test" / "ort" / "ort_run.js"
TESTDATA = Path("/usr/share/libonnx-testdata/data")
SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")
# Tensor element types that ort_run.js can pass through .npy files.
SUPPORTED_TYPES = {
    TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16,
    TensorProto.INT8, TensorProto.UINT8, TensorProto.INT16, TensorProto.UINT16,
    TensorProto.INT32, TensorProto.UINT32, TensorProto.INT64, TensorProto.UINT64,
    TensorProto.BOOL,
}
TRANSLATE_TIMEOUT = 60  # seconds per amct-translate call
ORT_JOB_TIMEOUT = 120  # seconds without progress before the ORT process counts as hung
EXCLUDED = "ort-cannot-run-original"


class Case:
    """One model under test; `outcome` stays None while it is still in the running."""

    def __init__(self, suite, name, model, work):
        self.suite, self.name, self.model, self.work = suite, name, Path(model), Path(work)
        self.id = f"{suite}/{name}"
        self.inputs = {}  # graph input name -> .npy path
        self.orig_outputs = []  # ort_run.js output records of the original
        self.outcome = None  # ("pass" | "fail" | "skip" | EXCLUDED, category, reason)

    def settle(self, kind, category="", reason=""):
        self.outcome = (kind, category, " ".join(str(reason).split()))

    @property
    def live(self):
        return self.outcome is None


def graph_io(model):
    """Non-initializer graph inputs and the graph outputs, as ValueInfoProtos."""
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits], list(model.graph.output)


def unsupported_io(model):
    """(category, reason) if the harness cannot feed or read this model's tensors."""
    inputs, outputs = graph_io(model)
    for what, infos in (("input", inputs), ("output", outputs)):
        for vi in infos:
            kind = vi.type.WhichOneof("value")
            if kind != "tensor_type":
                return f"non-tensor-{what}", f"{what} {vi.name} is {kind}"
    for vi in inputs + outputs:
        t = vi.type.tensor_type.elem_type
        if t == TensorProto.STRING:
            return "string-tensor", f"{vi.name} is a string tensor"
        if t not in SUPPORTED_TYPES:
            return "unsupported-dtype", f"{vi.name} is {TensorProto.DataType.Name(t)}"
    return None


def prepare_testdata(case):
    """Converts test_data_set_0/input_N.pb (ordered like the graph inputs) to .npy."""
    model = onnx.load(str(case.model))
    why = unsupported_io(model)
    if why:
        return case.settle("skip", *why)
    data_dir = case.model.parent / "test_data_set_0"
    (case.work / "inputs").mkdir(parents=True)
    for i, vi in enumerate(graph_io(model)[0]):
        tensor = TensorProto()
        tensor.ParseFromString((data_dir / f"input_{i}.pb").read_bytes())
        npy = case.work / "inputs" / f"input_{i}.npy"
        np.save(npy, numpy_helper.to_array(tensor))
        case.inputs[vi.name] = str(npy)


def prepare_own(case):
    """Inputs are `<model stem>.inputs/<input name>.npy`, else a sibling `inputs/`."""
    model = onnx.load(str(case.model))
    why = unsupported_io(model)
    if why:
        return case.settle("skip", *why)
    dirs = (case.model.with_suffix(".inputs"), case.model.parent / "inputs")
    input_dir = next((d for d in dirs if d.is_dir()), None)
    for vi in graph_io(model)[0]:
        npy = input_dir / f"{vi.name}.npy" if input_dir else None
        if not npy or not npy.is_file():
            return case.settle("skip", "missing-input", f"no {vi.name}.npy in {dirs[0]} or {dirs[1]}")
        case.inputs[vi.name] = str(npy)


def run_ort(jobs, work, tag):
    """Runs all jobs through one ort_run.js process; returns one result per job.

    A native crash or a hang inside ORT must not lose the batch: the job it
    happened on is recorded as failed and the process restarts after it.
    """
    results = []
    while len(results) < len(jobs):
        rest = jobs[len(results):]
        jobs_file, res_file = work / f"{tag}.jobs.json", work / f"{tag}.results.json"
        progress = Path(f"{res_file}.progress")
        jobs_file.write_text(json.dumps(rest))
        res_file.unlink(missing_ok=True)
        progress.unlink(missing_ok=True)
        with open(work / f"{tag}.stderr", "w") as err:
            proc = subprocess.Popen(["node", str(ORT_RUN), str(jobs_file), str(res_file)], stderr=err)
            seen, last_change, why = 0, time.monotonic(), None
            while proc.poll() is None:
                time.sleep(0.2)
                done = progress.read_text().count("\n") if progress.exists() else 0
                if done != seen:
                    seen, last_change = done, time.monotonic()
                elif time.monotonic() - last_change > ORT_JOB_TIMEOUT:
                    proc.kill()
                    proc.wait()
                    why = f"ORT timed out after {ORT_JOB_TIMEOUT} s"
        if proc.returncode == 0:
            results += json.loads(res_file.read_text())
            continue
        if proc.returncode > 0 and why is None:
            # ort_run.js itself failed (e.g. cannot load ORT): nothing to resume.
            sys.exit(f"roundtrip: ort_run.js failed:\n{(work / f'{tag}.stderr').read_text()}")
        done = [json.loads(line) for line in progress.read_text().splitlines()]
        results += done
        results.append({"model": rest[len(done)]["model"], "ok": False, "outputs": [],
                        "error": why or f"ORT process killed by signal {-proc.returncode}"})
    return results


def first_line(text):
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def translate(case, translator):
    """Import then export; returns (category, reason) on failure, None on success."""
    exported = case.work / "exported.onnx"
    if translator == "copy":
        shutil.copyfile(case.model, exported)
        return None
    mlir = case.work / "imported.mlir"
    for step, args in (("import", ["--import-onnx", str(case.model), "-o", str(mlir)]),
                       ("export", ["--export-onnx", str(mlir), "-o", str(exported)])):
        # Own process group: on timeout, children the translator started die with it
        # (otherwise they keep its stderr pipe open and the wait goes on).
        with subprocess.Popen([translator, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True) as p:
            try:
                err = p.communicate(timeout=TRANSLATE_TIMEOUT)[1]
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()
                return step, f"timed out after {TRANSLATE_TIMEOUT} s"
        if p.returncode != 0:
            status = f"exit {p.returncode}" if p.returncode > 0 else f"signal {-p.returncode}"
            line = first_line(err.decode(errors="replace"))
            return step, f"{status}: {line}" if line else status
    if not exported.is_file():
        return "export", f"exit 0 but no {exported.name} written"
    return None


def check_exported(case, translator):
    """Steps (b) and (c) plus the name check; settles the case on failure."""
    failure = translate(case, translator)
    if failure:
        return case.settle("fail", *failure)
    exported = case.work / "exported.onnx"
    try:
        onnx.checker.check_model(str(exported), full_check=False)
    except Exception as e:  # the checker raises several exception types
        return case.settle("fail", "checker", first_line(str(e)))
    orig_in, orig_out = graph_io(onnx.load(str(case.model)))
    new_in, new_out = graph_io(onnx.load(str(exported)))
    if sorted(i.name for i in orig_in) != sorted(i.name for i in new_in):
        return case.settle("fail", "names", f"inputs {[i.name for i in new_in]} != {[i.name for i in orig_in]}")
    if [o.name for o in orig_out] != [o.name for o in new_out]:
        return case.settle("fail", "names", f"outputs {[o.name for o in new_out]} != {[o.name for o in orig_out]}")


def compare(want, got):
    """Returns why `got` differs from `want` (ORT outputs of original/export), or None."""
    if want.dtype != got.dtype:
        return f"dtype {got.dtype} != {want.dtype}"
    if want.shape != got.shape:
        return f"shape {got.shape} != {want.shape}"
    if want.dtype.kind != "f":
        if not np.array_equal(want, got):
            return f"{np.count_nonzero(want != got)} of {want.size} elements differ"
        return None
    a, b = want.astype(np.float64), got.astype(np.float64)
    fa, fb = np.isfinite(a), np.isfinite(b)
    # NaN and +-inf must appear at the same positions (and with the same sign for inf).
    if not np.array_equal(fa, fb) or not np.array_equal(a[~fa], b[~fb], equal_nan=True):
        return "non-finite values differ"
    if fa.any():
        diff = np.max(np.abs(a[fa] - b[fa]))
        tol = 1e-5 * max(1.0, np.max(np.abs(a[fa])))
        if diff > tol:
            return f"max |diff| {diff:.3g} > tolerance {tol:.3g}"
    return None


def compare_outputs(wants, gots):
    """Compares two ort_run.js output lists position by position."""
    if len(gots) != len(wants):
        return f"{len(gots)} outputs != {len(wants)}"
    for want, got in zip(wants, gots):
        why = compare(np.load(want["file"]), np.load(got["file"]))
        if why:
            return f"output {want['name']}: {why}"
    return None


def judge(case, result):
    if not result["ok"]:
        return case.settle("fail", "ort-exported", result["error"])
    why = compare_outputs(case.orig_outputs, result["outputs"])
    if why:
        return case.settle("fail", "mismatch", why)
    case.settle("pass")


def collect_cases(args, work):
    if args.models:
        # `dir/model.onnx` (sibling inputs/ layout) is named after its folder.
        names = [p.parent.name if p.stem == "model" else p.stem for p in map(Path, args.models)]
        clash = [n for n, k in collections.Counter(names).items() if k > 1]
        if clash:
            sys.exit(f"roundtrip: several --models named {', '.join(clash)}")
        cases = [Case("models", n, m, work / "models" / n) for n, m in zip(names, args.models)]
    else:
        cases = [Case(suite, d.name, d / "model.onnx", work / suite / d.name)
                 for suite in SUITES for d in sorted((TESTDATA / suite).iterdir())
                 if (d / "model.onnx").is_file()]
    if args.filter:
        cases = [c for c in cases if args.filter in c.id]
    return cases[:args.limit] if args.limit is not None else cases


def report(cases, elapsed, list_failures):
    per_suite = collections.defaultdict(collections.Counter)
    for c in cases:
        per_suite[c.suite][c.outcome[0]] += 1
    for suite, n in per_suite.items():
        print(f"  {suite:18} {n['pass']:5} passed {n['fail']:5} failed "
              f"{n[EXCLUDED]:5} ORT cannot run original {n['skip']:5} skipped")
    failures = collections.Counter(c.outcome[1] for c in cases if c.outcome[0] == "fail")
    if failures:
        print("  failures by category: " + ", ".join(f"{k} {v}" for k, v in failures.most_common()))
    if list_failures:
        with open(list_failures, "w") as f:
            for c in cases:
                kind, category, reason = c.outcome
                if kind != "pass":
                    f.write(f"{c.id}\t{category}\t{reason}\n")
    skipped = collections.Counter(c.outcome[1] for c in cases if c.outcome[0] in ("skip", EXCLUDED))
    passed, failed = sum(n["pass"] for n in per_suite.values()), sum(failures.values())
    print(f"  {len(cases)} models in {elapsed:.0f} s")
    print(f"roundtrip: {passed} passed, {failed} failed")
    detail = ", ".join(f"{v} {k}" for k, v in skipped.most_common())
    print(f"({sum(skipped.values())} skipped" + (f": {detail})" if detail else ")"))
    return passed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--translate", required=True, help="amct-translate binary, or 'copy'")
    ap.add_argument("--work", required=True, type=Path, help="scratch directory")
    ap.add_argument("--expect-min", type=int, default=0, help="exit 1 if fewer models pass")
    ap.add_argument("--filter", help="only models whose suite/name contains this")
    ap.add_argument("--list-failures", help="write model<TAB>category<TAB>reason for every non-pass")
    ap.add_argument("--limit", type=int, help="only the first K models")
    ap.add_argument("--jobs", type=int, default=2, help="parallel translate processes")
    ap.add_argument("--models", nargs="+", metavar="FILE", help="own .onnx models instead of the test data")
    args = ap.parse_args()
    if args.translate != "copy" and not os.access(args.translate, os.X_OK):
        sys.exit(f"roundtrip: --translate {args.translate} is not an executable")

    start = time.monotonic()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    cases = collect_cases(args, work)

    for c in cases:
        shutil.rmtree(c.work, ignore_errors=True)  # no stale outputs from earlier runs
        c.work.mkdir(parents=True)
        try:
            (prepare_own if args.models else prepare_testdata)(c)
        except Exception as e:  # unreadable model or input data: nothing to compare against
            c.settle("skip", "unreadable", first_line(str(e)))

    live = [c for c in cases if c.live]
    print(f"roundtrip: {len(cases)} models, {len(live)} with tensor I/O; running originals in ORT", file=sys.stderr)
    results = run_ort([{"model": str(c.model), "inputs": c.inputs, "outDir": str(c.work / "original_out")}
                       for c in live], work, "original")
    for c, r in zip(live, results):
        if r["ok"]:
            c.orig_outputs = r["outputs"]
        else:
            c.settle(EXCLUDED, EXCLUDED, r["error"])

    live = [c for c in cases if c.live]
    print(f"roundtrip: translating {len(live)} models ({args.jobs} at a time)", file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(lambda c: check_exported(c, args.translate), live))

    live = [c for c in cases if c.live]
    print(f"roundtrip: running {len(live)} exported models in ORT", file=sys.stderr)
    # The original runs again beside its export. ORT seeds random ops once per process,
    # so a model whose outputs differ between the two processes (e.g. an unseeded
    # Bernoulli) cannot judge its export.
    results = run_ort([{"model": str(model), "inputs": c.inputs, "outDir": str(c.work / out)}
                       for c in live for model, out in ((c.model, "original_rerun_out"),
                                                        (c.work / "exported.onnx", "exported_out"))],
                      work, "exported")
    for c, again, exported in zip(live, results[0::2], results[1::2]):
        why = compare_outputs(c.orig_outputs, again["outputs"]) if again["ok"] else again["error"]
        if why:
            c.settle("skip", "nondeterministic", f"original rerun in another ORT process: {why}")
        else:
            judge(c, exported)

    passed = report(cases, time.monotonic() - start, args.list_failures)
    sys.exit(1 if passed < args.expect_min else 0)


if __name__ == "__main__":
    main()
