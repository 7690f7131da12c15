#!/usr/bin/python3
"""The CPU executor against ONNX's backend node tests.

For each /usr/share/libonnx-testdata/data/node/test_*/ whose graph uses only
ops the executor has kernels for (`amct kernels --format=tsv`: default
domain, in the opset range and with the output count the kernel handles;
anything else is skipped as 'unsupported op' without running, and so is a
test `amct run` refuses for a node without a kernel before running), and for
each test_data_set_*:
input_N.pb (TensorProto, in the order of the graph's non-initializer inputs)
becomes N.npy, `amct run` runs the model, and every output must match
output_N.pb the way onnx's backend test runner checks it: same dtype, same
shape, np.testing.assert_allclose(rtol=1e-3, atol=1e-7) (NaN where NaN).

Prints per-op counts (op: passed/total; a test counts under the op it tests,
multi-op graphs under their ops joined by '+') and, last, exactly
`node-tests: P passed, F failed`. Exit 1 if a test fails that is not listed in
node_tests_expected_failures.txt (next to this script) or if P < --expect-min.
Run with /usr/bin/python3 (Debian's onnx and numpy). See
docs/ExecutorConformance.md.
"""

import argparse
import collections
import concurrent.futures
import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

HERE = Path(__file__).resolve().parent
NODE_DATA = Path("/usr/share/libonnx-testdata/data/node")
EXPECTED_FAILURES = HERE / "node_tests_expected_failures.txt"
RTOL, ATOL = 1e-3, 1e-7  # onnx.backend.test.runner defaults
RUN_TIMEOUT = 120  # seconds per `amct run`

# The executor's kernels, as `amct kernels --format=tsv` lists them:
# (domain, op type) -> [(since, until, max outputs)]. Filled in main().
KERNELS = {}


def read_kernels(amct):
    out = subprocess.run([amct, "kernels", "--format=tsv"], check=True,
                         capture_output=True, text=True).stdout
    kernels = collections.defaultdict(list)
    for line in out.splitlines()[1:]:
        domain, op, since, until, _min_inputs, outs = line.split("\t")
        kernels[(domain, op)].append(
            (int(since), int(until) if until else 10**9, 1 << 30 if outs == "any" else int(outs)))
    return kernels


def kernel_for(node, opset):
    """(since, until, max outputs) of the kernel for `node` at `opset`, or None."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    for k in KERNELS.get((domain, node.op_type), []):
        if k[0] <= opset <= k[1]:
            return k
    return None


def sanitize(name):
    """The file name `amct run` gives an output."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return 1


def op_label(model):
    """The op a test is counted under: its one op (Constant only if alone)."""
    ops = list(dict.fromkeys(n.op_type for n in model.graph.node))
    if len(ops) > 1:
        ops = [o for o in ops if o != "Constant"]
    return "+".join(ops) if ops else "(empty)"


def unsupported(model, extra_outputs_ok=False):
    """Why the executor cannot run this graph's ops, or None. (`amct run`
    may still refuse a node before running, say for a missing required
    input: the test then counts as skipped too.)"""
    opset = default_opset(model)
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            return f"{node.domain}::{node.op_type} (not the default domain)"
        k = kernel_for(node, opset)
        if not k:
            ranges = ", ".join(f"{lo}+" if hi >= 10**9 else f"{lo}-{hi}"
                               for lo, hi, _ in KERNELS.get(("", node.op_type), []))
            return f"{node.op_type} at opset {opset} (no kernel" + (
                f"; kernels for opsets {ranges})" if ranges else ")")
        if len(node.output) > k[2] and not extra_outputs_ok:
            return f"{node.op_type} with {len(node.output)} outputs (kernel: at most {k[2]})"
    return None


def trim_outputs(model):
    """(model, kept): the model with each node cut to the outputs its kernel
    has (ONNX's optional trailing outputs) and the graph outputs among them,
    and the original indices of those graph outputs (output_<i>.pb). None if
    another node reads a dropped output or no graph output is left."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    dropped = set()
    opset = default_opset(model)
    for node in model.graph.node:
        outs = kernel_for(node, opset)[2]
        dropped.update(o for o in node.output[outs:] if o)
        del node.output[outs:]
    if any(i in dropped for node in model.graph.node for i in node.input):
        return None
    kept = [i for i, vi in enumerate(model.graph.output) if vi.name not in dropped]
    if not kept:
        return None
    outputs = [model.graph.output[i] for i in kept]
    del model.graph.output[:]
    model.graph.output.extend(outputs)
    return model, kept


class Test:
    def __init__(self, path):
        self.path = path
        self.name = path.name
        self.model_path = path / "model.onnx"
        self.model = onnx.load(str(self.model_path))
        self.output_indices = list(range(len(self.model.graph.output)))
        self.op = op_label(self.model)
        self.skip = unsupported(self.model)
        self.datasets = sorted(path.glob("test_data_set_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
        self.result, self.reason = ("skipped", "unsupported op: " + self.skip) if self.skip else (None, "")

    def trimmed_variant(self, work):
        """With --first-output-variants: a test that was skipped only for a
        node with more outputs than its kernel has (LayerNormalization's Mean
        and InvStdDev, BatchNormalization's running statistics) becomes
        `<name>[trimmed]`, the model without those outputs, judged on the
        outputs it keeps."""
        if not self.skip or unsupported(self.model, extra_outputs_ok=True):
            return None
        trimmed = trim_outputs(self.model)
        if not trimmed:
            return None
        variant = copy.copy(self)
        variant.name = f"{self.name}[trimmed]"
        variant.model, variant.output_indices = trimmed
        variant.model_path = work / variant.name / "model.onnx"
        variant.model_path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(variant.model, str(variant.model_path))
        variant.skip, variant.result, variant.reason = None, None, ""
        return variant


def load_tensor(pb):
    tensor = TensorProto()
    tensor.ParseFromString(pb.read_bytes())
    return numpy_helper.to_array(tensor)


def compare(ref, got):
    """None if `got` passes for `ref` as onnx's backend runner judges it."""
    if ref.dtype != got.dtype:
        return f"dtype {got.dtype}, expected {ref.dtype}"
    if ref.shape != got.shape:
        # assert_allclose would broadcast a 0-d array against any shape.
        return f"shape {got.shape}, expected {ref.shape}"
    try:
        if ref.dtype == object:
            np.testing.assert_array_equal(got, ref)
        else:
            np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    except AssertionError as e:
        return summarize_mismatch(ref, got, e)
    return None


def summarize_mismatch(ref, got, err):
    if ref.dtype.kind in "fc":
        nan = np.isnan(ref) != np.isnan(got)
        if nan.any():
            i = np.unravel_index(np.argmax(nan), ref.shape) if ref.ndim else ()
            return (f"NaN positions differ at {nan.sum()} of {ref.size} elements "
                    f"(first at {tuple(int(x) for x in i)}: got {got[i]}, expected {ref[i]})")
    if ref.dtype.kind in "fciub":
        r, g = ref.astype(np.float64), got.astype(np.float64)
        bad = ~(np.abs(g - r) <= ATOL + RTOL * np.abs(r))
        bad &= ~(np.isnan(r) & np.isnan(g))
        bad &= ~(np.isinf(r) & (r == g))
        if bad.any():
            i = np.unravel_index(np.argmax(bad), ref.shape) if ref.ndim else ()
            with np.errstate(invalid="ignore"):
                diff = np.nanmax(np.where(bad, np.abs(g - r), np.nan))
            return (f"{bad.sum()} of {ref.size} elements differ, max abs diff {diff:.6g} "
                    f"(first at {tuple(int(x) for x in i)}: got {got[i]!r}, expected {ref[i]!r})")
    return one_line(str(err))


def run_amct(amct, model, inputs, outdir, threads):
    cmd = [amct, "run", "--model", str(model), "--output-dir", str(outdir)]
    cmd += [f"--input={name}={path}" for name, path in inputs]
    if threads:
        cmd.append(f"--threads={threads}")
    # Own process group, so a timeout kills everything amct started.
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return f"timed out after {RUN_TIMEOUT} s"
    if p.returncode == 0:
        return None
    text = (err + out).decode(errors="replace").strip()
    if p.returncode < 0:
        return f"crashed ({signal.Signals(-p.returncode).name}): {one_line(text)}"
    return f"amct run exit {p.returncode}: {one_line(text)}"


# `amct run` refusing a node before running anything: the op is not
# supported in that form.
NO_KERNEL = re.compile(r"the executor has no kernel for|kernel (computes|needs) \d+ (out|in)puts?, the node has")


def run_test(test, amct, work, threads):
    try:
        test.result, test.reason = "passed", ""
        why = run_datasets(test, amct, work, threads)
        if why and NO_KERNEL.search(why) and "exit 1" in why:
            test.result, test.reason = "skipped", "unsupported op: " + why
        elif why:
            test.result, test.reason = "failed", why
    except Exception as e:  # a harness problem on this test must not lose the others
        test.result, test.reason = "failed", f"harness error: {type(e).__name__}: {one_line(e)}"
    return test


def run_datasets(test, amct, work, threads):
    """Reason of the first failing data set, or None."""
    graph = test.model.graph
    inits = {t.name for t in graph.initializer}
    g_inputs = [vi for vi in graph.input if vi.name not in inits]
    if not test.datasets:
        return "no test_data_set_* folder"
    for what, infos in (("input", g_inputs), ("output", graph.output)):
        for vi in infos:
            kind = vi.type.WhichOneof("value")
            if kind != "tensor_type":
                return f"graph {what} '{vi.name}' is {kind.replace('_type', '')}, not a tensor (.npy cannot carry it)"
    for ds in test.datasets:
        tag = f"{ds.name}: " if len(test.datasets) > 1 else ""
        dswork = work / test.name / ds.name
        shutil.rmtree(dswork, ignore_errors=True)
        (dswork / "in").mkdir(parents=True)
        inputs = []
        in_files = sorted(ds.glob("input_*.pb"), key=lambda p: int(p.stem.split("_")[1]))
        if len(in_files) != len(g_inputs):
            return f"{tag}{len(in_files)} input_*.pb for {len(g_inputs)} graph inputs"
        for i, vi in enumerate(g_inputs):
            arr = load_tensor(ds / f"input_{i}.pb")
            if arr.dtype == object:
                return f"{tag}input '{vi.name}' is a string tensor (.npy cannot carry it)"
            npy = dswork / "in" / f"input_{i}.npy"
            np.save(npy, arr)
            inputs.append((vi.name, npy))
        outdir = dswork / "out"
        why = run_amct(amct, test.model_path, inputs, outdir, threads)
        if why:
            return tag + why
        for i, vi in zip(test.output_indices, graph.output):
            ref = load_tensor(ds / f"output_{i}.pb")
            got_file = outdir / f"{sanitize(vi.name)}.npy"
            if not got_file.is_file():
                return f"{tag}no {got_file.name} written for output '{vi.name}'"
            got = np.load(got_file, allow_pickle=False)
            why = compare(ref, got)
            if why:
                name = f"output '{vi.name}': " if len(graph.output) > 1 else ""
                return f"{tag}{name}{why}"
    return None


def read_expected_failures(path):
    """test name -> reason; lines `test_name<whitespace>reason`, '#' comments."""
    expected = {}
    if not path.is_file():
        return expected
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, *reason = line.split(None, 1)
        expected[name] = reason[0] if reason else ""
    return expected


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--amct", required=True, help="the amct binary")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--expect-min", type=int, default=0, help="exit 1 if fewer tests pass")
    ap.add_argument("--list", type=Path, help="write a TSV: test, op, result, reason")
    ap.add_argument("--jobs", type=int, default=2, help="amct processes at a time")
    ap.add_argument("--threads", type=int, help="pass --threads to amct run")
    ap.add_argument("--data", type=Path, default=NODE_DATA, help="ONNX's node test folder")
    ap.add_argument("--expected-failures", type=Path, default=EXPECTED_FAILURES)
    ap.add_argument("--filter", help="only tests whose name matches this regex (re.search)")
    ap.add_argument("--first-output-variants", action="store_true",
                    help="also run tests skipped only for a node's extra outputs, without those "
                         "outputs, as <test>[trimmed]")
    args = ap.parse_args()

    start = time.monotonic()
    amct = shutil.which(args.amct) or args.amct
    if not os.access(amct, os.X_OK):
        sys.exit(f"node-tests: {args.amct} is not an executable")
    amct = str(Path(amct).resolve())
    KERNELS.update(read_kernels(amct))
    work = args.work or Path(tempfile.mkdtemp(prefix="amct-node-tests-"))
    work.mkdir(parents=True, exist_ok=True)
    expected = read_expected_failures(args.expected_failures)

    dirs = sorted(p for p in args.data.glob("test_*") if (p / "model.onnx").is_file())
    if args.filter:
        dirs = [d for d in dirs if re.search(args.filter, d.name)]
    if not dirs:
        sys.exit(f"node-tests: no test_*/model.onnx under {args.data}")
    tests = [Test(d) for d in dirs]
    if args.first_output_variants:
        tests += [v for v in (t.trimmed_variant(work) for t in list(tests)) if v]
        tests.sort(key=lambda t: t.name)
    runnable = [t for t in tests if not t.skip]

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(lambda t: run_test(t, amct, work, args.threads), runnable))
    runnable = [t for t in runnable if t.result != "skipped"]

    per_op = collections.OrderedDict()
    for t in sorted(runnable, key=lambda t: t.op):
        c = per_op.setdefault(t.op, [0, 0])
        c[0] += t.result == "passed"
        c[1] += 1
    for op, (p, n) in per_op.items():
        print(f"  {op}: {p}/{n}")

    failed = [t for t in runnable if t.result == "failed"]
    unexpected = [t for t in failed if t.name not in expected]
    for t in failed:
        mark = "FAIL" if t in unexpected else "XFAIL"
        print(f"{mark} {t.name}: {t.reason}")
    names = {t.name for t in tests}
    for t in runnable:
        if t.result == "passed" and t.name in expected:
            print(f"note: {t.name} passes but is listed in {args.expected_failures.name}")
    for name in expected:
        if name not in names and not args.filter:
            print(f"note: {name} in {args.expected_failures.name} is not a test under {args.data}")

    if args.list:
        with open(args.list, "w") as f:
            f.write("test\top\tresult\treason\n")
            for t in tests:
                reason = t.reason
                if t.result == "failed" and t.name in expected:
                    reason = f"expected failure: {reason}"
                f.write(f"{t.name}\t{t.op}\t{t.result}\t{one_line(reason, 10**6)}\n")

    passed = sum(t.result == "passed" for t in runnable)
    print(f"{len(tests) - len(runnable)} tests skipped (unsupported op), "
          f"{len(failed) - len(unexpected)} expected failures, {len(unexpected)} unexpected, "
          f"{time.monotonic() - start:.1f} s; work folder {work}")
    status = 0
    if unexpected:
        status = 1
    if passed < args.expect_min:
        print(f"node-tests: only {passed} passed, expected at least {args.expect_min}")
        status = 1
    print(f"node-tests: {passed} passed, {len(failed)} failed")
    return status


if __name__ == "__main__":
    sys.exit(main())
