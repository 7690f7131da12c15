#!/usr/bin/python3
"""External data a model names must stay in the model's folder and be a
regular file (docs/Reliability.md). Builds one folder of crafted models, each
with its weight `W` in external data named by a hostile location, and runs
`amct-translate --import-onnx`, `amct run` and `amct quantize` on each under
a timeout: every case must exit 1 within the time limit with a message naming
the initializer, the location and the rule, write no output (an earlier
output stays untouched), and print no byte of the file outside the folder.
A correct model with large external data must import, run and quantize.

usage: external_data_rules.py WORKDIR   (amct-translate and amct on PATH)
"""
import os
import shutil
import socket
import stat
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WORK = os.path.abspath(sys.argv[1])
shutil.rmtree(WORK, ignore_errors=True)
MODELS = os.path.join(WORK, "models")
OUTSIDE = os.path.join(WORK, "outside")
os.makedirs(MODELS)
os.makedirs(OUTSIDE)

K, N = 4, 3
# The secret outside the folder: W's 48 bytes, spelling a marker that must
# never appear in any output, as text or as the hex of the bytes.
SECRET = (b"SECRET-W" * 6)
assert len(SECRET) == K * N * 4
with open(os.path.join(OUTSIDE, "secret.bin"), "wb") as f:
    f.write(SECRET)
MARKERS = [b"SECRET", SECRET[:8].hex().upper().encode(), SECRET[:8].hex().encode()]
INSIDE = np.arange(K * N, dtype=np.float32).reshape(N, K) / 8
with open(os.path.join(MODELS, "weights.bin"), "wb") as f:
    f.write(INSIDE.tobytes())
np.save(os.path.join(WORK, "x.npy"), np.random.default_rng(0).standard_normal((4, K)).astype(np.float32))


def external(name, location, dims=(N, K)):
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * int(np.prod(dims))))):
        e = t.external_data.add()
        e.key, e.value = key, value
    return t


def gemm_model(name, location, where="initializer"):
    """X[B,K] -> Gemm(W external, transB) -> Y. `where`: the initializer of
    the main graph, a Constant node's value, or an initializer of an If
    branch (a subgraph)."""
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", K])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", N])
    nodes, inits = [], []
    if where == "initializer":
        inits.append(external("W", location))
    elif where == "constant":
        nodes.append(helper.make_node("Constant", [], ["W"], name="w_const", value=external("W", location)))
    else:  # subgraph
        branch_out = helper.make_tensor_value_info("W", TensorProto.FLOAT, [N, K])
        then_g = helper.make_graph([helper.make_node("Identity", ["Wt"], ["W"], name="then_id")],
                                   "then", [], [branch_out], initializer=[external("Wt", location)])
        else_g = helper.make_graph([helper.make_node("Identity", ["We"], ["W"], name="else_id")],
                                   "else", [], [branch_out],
                                   initializer=[numpy_helper.from_array(INSIDE, "We")])
        inits.append(numpy_helper.from_array(np.array(True), "cond"))
        nodes.append(helper.make_node("If", ["cond"], ["W"], name="pick_w",
                                      then_branch=then_g, else_branch=else_g))
    nodes.append(helper.make_node("Gemm", ["X", "W"], ["Y"], name="fc", transB=1))
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    path = os.path.join(MODELS, name + ".onnx")
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


# The hostile cases: (model name, location, how the folder is set up, what
# the error must say).
os.makedirs(os.path.join(MODELS, "sub"))
os.symlink(os.path.join(OUTSIDE, "secret.bin"), os.path.join(MODELS, "sub", "lnk"))
os.symlink(OUTSIDE, os.path.join(MODELS, "outdir"))
os.symlink("weights.bin", os.path.join(MODELS, "inlink.bin"))
os.symlink("/dev/zero", os.path.join(MODELS, "zero"))
os.mkfifo(os.path.join(MODELS, "fifo"))
os.makedirs(os.path.join(MODELS, "adir"))
sock = socket.socket(socket.AF_UNIX)
sock.bind(os.path.join(MODELS, "sock"))
try:
    os.mknod(os.path.join(MODELS, "dev"), 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    device_rule = "is a device, expected a regular file"
except PermissionError:  # not root: the same rule, through a link
    os.symlink("/dev/null", os.path.join(MODELS, "dev"))
    device_rule = "is a symbolic link"

CASES = [
    ("absolute", os.path.join(OUTSIDE, "secret.bin"), "initializer", "is absolute"),
    ("dotdot", "../outside/secret.bin", "initializer", "contains '..'"),
    ("dotdot_inner", "sub/../../outside/secret.bin", "initializer", "contains '..'"),
    ("link_escapes", "sub/lnk", "initializer", "is a symbolic link"),
    ("link_folder", "outdir/secret.bin", "initializer", "passes through 'outdir', a symbolic link"),
    ("link_inside", "inlink.bin", "initializer", "is a symbolic link"),
    ("link_device", "zero", "initializer", "is a symbolic link"),
    ("fifo", "fifo", "initializer", "is a FIFO, expected a regular file"),
    ("socket", "sock", "initializer", "is a socket, expected a regular file"),
    ("device", "dev", "initializer", device_rule),
    ("directory", "adir", "initializer", "is a directory, expected a regular file"),
    ("missing", "nothere.bin", "initializer", "No such file or directory"),
    ("constant_link", "sub/lnk", "constant", "is a symbolic link"),
    ("subgraph_link", "sub/lnk", "subgraph", "is a symbolic link"),
    ("subgraph_fifo", "fifo", "subgraph", "is a FIFO"),
]

failures = []


def run(args, timeout=10):
    start = time.monotonic()
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, b"", f"hung (killed after {timeout} s)", timeout
    return p.returncode, p.stdout + p.stderr, None, time.monotonic() - start


def tools(model, out):
    return {
        "amct-translate": ["amct-translate", "--import-onnx", model, "-o", out + ".mlir"],
        "amct run": ["amct", "run", "--model", model, "--input", "X=" + os.path.join(WORK, "x.npy"),
                     "--output-dir", out + "_run"],
        "amct quantize": ["amct", "quantize", "--model", model, "--calib-data",
                          "X=" + os.path.join(WORK, "x.npy"), "--save-path", out],
    }


outputs = os.path.join(WORK, "out")
os.makedirs(outputs)
for name, location, where, rule in CASES:
    model = gemm_model(name, location, where)
    for tool, args in tools(model, os.path.join(outputs, name)).items():
        # An earlier output of the same name must survive the failed run.
        before = {}
        os.makedirs(os.path.join(outputs, name + "_run"), exist_ok=True)
        for suffix in (".mlir", "_run/Y.npy", "_deploy_model.onnx", "_fake_quant_model.onnx", "_record.txt"):
            path = os.path.join(outputs, name + suffix)
            with open(path, "wb") as f:
                f.write(b"earlier output")
            before[path] = b"earlier output"
        code, text, hung, seconds = run(args)
        what = f"{name} ({location!r} as {where}) under {tool}"
        if hung:
            failures.append(f"{what}: {hung}")
            continue
        message = text.decode(errors="replace")
        if code != 1:
            failures.append(f"{what}: exit {code}, expected 1; output: {message.strip()[:300]}")
        initializer = {"subgraph": "Wt", "constant": "w_const"}.get(where, "W")
        if f"'{initializer}'" not in message or rule not in message or location not in message:
            failures.append(f"{what}: message should name '{initializer}', {location!r} and "
                            f"{rule!r}: {message.strip()[:300]}")
        if any(m in text for m in MARKERS):
            failures.append(f"{what}: printed bytes of the file outside the folder")
        for path, content in before.items():
            with open(path, "rb") as f:
                if f.read() != content:
                    failures.append(f"{what}: overwrote {os.path.basename(path)}")
        if seconds > 5:
            failures.append(f"{what}: took {seconds:.1f} s")
        print(f"{what}: exit {code} in {seconds:.2f} s: {message.strip().splitlines()[-1] if message.strip() else ''}")

# A correct model with large external data (8 MiB, two tensors in one file
# at offsets) imports, runs and quantizes, and the weights are the file's.
KL, NL = 1024, 2048
rng = np.random.default_rng(1)
w = (rng.standard_normal((NL, KL)) * 0.05).astype(np.float32)
b = rng.standard_normal(NL).astype(np.float32)
os.makedirs(os.path.join(MODELS, "big", "data"))
with open(os.path.join(MODELS, "big", "data", "weights.bin"), "wb") as f:
    f.write(b.tobytes() + b"\0" * 64 + w.tobytes())
wt, bt = external("W", "data/weights.bin", (NL, KL)), external("B", "./data/weights.bin", (NL,))
wt.external_data[1].value = str(b.nbytes + 64)
x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", KL])
y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", NL])
graph = helper.make_graph([helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="fc", transB=1)],
                          "g", [x], [y], initializer=[wt, bt])
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
big = os.path.join(MODELS, "big", "big.onnx")
onnx.save(m, big)
xs = rng.standard_normal((8, KL)).astype(np.float32)
np.save(os.path.join(WORK, "xbig.npy"), xs)
code, text, hung, _ = run(["amct", "run", "--model", big, "--input", "X=" + os.path.join(WORK, "xbig.npy"),
                           "--output-dir", os.path.join(outputs, "big_run")], timeout=60)
if code != 0:
    failures.append(f"large external data: amct run exit {code}: {text.decode(errors='replace')[:300]}")
else:
    got = np.load(os.path.join(outputs, "big_run", "Y.npy"))
    want = xs.astype(np.float64) @ w.T.astype(np.float64) + b
    err = float(np.abs(got - want).max())
    if err > 1e-3:
        failures.append(f"large external data: amct run differs from numpy by {err}")
    print(f"large external data: amct run max |diff| vs numpy {err:.2e}")
code, text, hung, _ = run(["amct", "quantize", "--model", big, "--calib-data", "X=" + os.path.join(WORK, "xbig.npy"),
                           "--save-path", os.path.join(outputs, "big")], timeout=120)
if code != 0 or not os.path.exists(os.path.join(outputs, "big_deploy_model.onnx")):
    failures.append(f"large external data: amct quantize exit {code}: {text.decode(errors='replace')[:300]}")
else:
    print("large external data: amct quantize wrote the deploy model")

# Paths the user names are not confined, but they too must be regular
# files: a FIFO as the model, the calibration data or the config is refused
# at once instead of blocking the open.
good = gemm_model("good", "weights.bin")
fifo = os.path.join(MODELS, "fifo")
for what, args in [
        ("model", ["amct-translate", "--import-onnx", fifo]),
        ("model", ["amct", "run", "--model", fifo, "--input", "X=" + os.path.join(WORK, "x.npy"),
                   "--output-dir", os.path.join(outputs, "fifo_run")]),
        ("calibration data", ["amct", "quantize", "--model", good, "--calib-data", "X=" + fifo,
                              "--save-path", os.path.join(outputs, "fifo")]),
        ("config", ["amct", "quantize", "--model", good, "--config", fifo, "--calib-data",
                    "X=" + os.path.join(WORK, "x.npy"), "--save-path", os.path.join(outputs, "fifo")])]:
    code, text, hung, seconds = run(args)
    message = text.decode(errors="replace")
    if hung or code != 1 or "is a FIFO, expected a regular file" not in message:
        failures.append(f"a FIFO as the {what} ({args[0]} {args[1]}): {hung or f'exit {code}'}: {message[:300]}")
    else:
        print(f"a FIFO as the {what}: exit 1 in {seconds:.2f} s")

# Outputs replace what is at their path, even a link, and never write
# through it: a link left where the record goes keeps pointing at an
# untouched file.
victim = os.path.join(OUTSIDE, "victim.txt")
with open(victim, "w") as f:
    f.write("untouched")
os.symlink(victim, os.path.join(outputs, "good_record.txt"))
code, text, hung, _ = run(["amct", "quantize", "--model", good, "--calib-data", "X=" + os.path.join(WORK, "x.npy"),
                           "--save-path", os.path.join(outputs, "good")])
with open(victim) as f:
    untouched = f.read() == "untouched"
if code != 0 or not untouched or os.path.islink(os.path.join(outputs, "good_record.txt")):
    failures.append(f"output over a link: exit {code}, outside file untouched: {untouched}: "
                    f"{text.decode(errors='replace')[:300]}")
else:
    print("output over a link: the link is replaced, the file it named untouched")

if failures:
    print("\n".join(["FAILED:"] + failures))
    sys.exit(1)
print(f"all {len(CASES)} hostile cases refused by 3 tools; large external data OK")
