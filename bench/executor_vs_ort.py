#!/usr/bin/python3
"""Whole-process benchmark of amct's CPU executor against ONNX Runtime.

ResNet-18 and MobileNetV2 shaped models (random seeded weights, BatchNormalization
kept, 3x224x224, batch 16 by default), 2 threads on both sides.

    /usr/bin/python3 bench/executor_vs_ort.py [--batch 16] [--threads 2] [--reps 5]

Each repetition is a fresh process on each side, timed from spawn to exit:
  ours: build/bin/amct run --model M --input input=X.npy --output-dir D --threads T
  ORT:  node + onnxruntime-node (session creation + one run + output write)
The two sides are interleaved so that any background load hits both alike.
Reported: median wall time, ratio ours/ORT, conv GFLOP/s (conv FLOPs / our whole
process time, so a lower bound on the conv kernels' speed), peak RSS (`/usr/bin/time -v`)
against the budget "model size + 3 x the largest set of live activations", and the
max difference of our outputs from ORT's. See bench/README.md.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchproc import cpu_seconds, publish, timed  # noqa: E402
import onnx
from onnx import shape_inference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = {  # name -> (make_models.py flag, file under --work, input shape after the batch)
    "resnet18": ("--resnet-bench", "resnet18_bench.onnx", (3, 224, 224)),
    "mobilenetv2": ("--mobilenet-bench", "mobilenetv2_bench.onnx", (3, 224, 224)),
    "lstm": ("--lstm-bench", "lstm_bench.onnx", (128, 256)),
}

# ORT side: one process = read input, create the session, run it `runs` times,
# write the first run's outputs as raw float32; prints timings as JSON.
NODE_SCRIPT = r"""
'use strict';
const fs = require('fs');
const t0 = process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
const [ortDir, model, inBin, inDims, inName, outPrefix, threads, runs] = process.argv.slice(2);
const ort = require(ortDir);
(async () => {
  const raw = fs.readFileSync(inBin);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const feeds = { [inName]: new ort.Tensor('float32', data, inDims.split('x').map(Number)) };
  const t1 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads), interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', executionProviders: ['cpu'],
  });
  const t2 = process.hrtime.bigint();
  const runMs = [];
  let first = null;
  for (let i = 0; i < Number(runs); ++i) {
    const a = process.hrtime.bigint();
    const r = await session.run(feeds);
    runMs.push(ms(a, process.hrtime.bigint()));
    if (!first) first = r;
  }
  const outputs = session.outputNames.map((name, i) => {
    const t = first[name];
    const file = `${outPrefix}${i}.bin`;
    fs.writeFileSync(file, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    return { name, file, dims: Array.from(t.dims), type: t.type };
  });
  console.log(JSON.stringify({ startupMs: ms(t0, t1), sessionMs: ms(t1, t2), runMs, outputs }));
})().catch((e) => { console.error(e.stack || e); process.exit(1); });
"""


# ----------------------------------------------------------------------------- the graph

def analyse(path, batch):
    """Input name, conv FLOPs and the largest set of live activations (bytes)."""
    m = onnx.load(path)
    inits = {t.name for t in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in inits]
    assert len(inputs) == 1, "one graph input expected"
    inp = inputs[0]
    inp.type.tensor_type.shape.dim[0].dim_value = batch  # pin the dynamic batch
    m = shape_inference.infer_shapes(m)
    shapes = {}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[vi.name] = dims
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)

    # Conv FLOPs: 2 * Cout * Cin/group * kh * kw * Hout * Wout * N (multiply-add = 2).
    flops = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            w, y = shapes[n.input[1]], shapes[n.output[0]]
            flops += 2 * int(np.prod(w)) * int(np.prod(y[2:])) * y[0]

    # Live activations, as our executor keeps them: a tensor lives from its
    # producing node to its last consumer; during a node, its inputs and
    # outputs are all live. Initializers and Constant outputs are not counted.
    consts = inits | {o for n in m.graph.node if n.op_type == "Constant" for o in n.output}
    # All float32 here; a tensor of unknown shape (a shape-arithmetic scalar) counts 0.
    size = lambda name: 4 * int(np.prod(shapes[name])) if name in shapes else 0
    last = {}
    for i, n in enumerate(m.graph.node):
        for x in n.input:
            last[x] = i
    for o in m.graph.output:
        last[o.name] = len(m.graph.node)
    live = {inp.name: size(inp.name)}
    peak = sum(live.values())
    for i, n in enumerate(m.graph.node):
        for o in n.output:
            if o not in consts and o in last:
                live[o] = size(o)
        peak = max(peak, sum(live.values()))
        live = {k: v for k, v in live.items() if last.get(k, -1) > i}
    return inp.name, flops, peak


# ----------------------------------------------------------------------------- running

# timed(): bench/benchproc.py


def bench_model(name, args, node_js):
    flag, file, sample_shape = MODELS[name]
    model = os.path.join(args.work, file)
    if not os.path.exists(model):
        subprocess.run([sys.executable, os.path.join(REPO, "test/models/make_models.py"),
                        flag, model], check=True)
    in_name, flops, live = analyse(model, args.batch)

    # Seeded input, as .npy for us and raw float32 for node.
    x = np.random.default_rng(0).standard_normal((args.batch, *sample_shape), dtype=np.float32)
    base = os.path.join(args.work, f"{name}_b{args.batch}")
    np.save(base + "_input.npy", x)
    x.tofile(base + "_input.bin")
    dims = "x".join(map(str, x.shape))

    ours_dir = base + "_ours"
    ours_cmd = [args.amct, "run", "--model", model, "--input", f"{in_name}={base}_input.npy",
                "--output-dir", ours_dir, "--threads", str(args.threads)]
    # Our kernels thread themselves (--threads) and call OpenBLAS single-threaded;
    # the variable only sizes OpenBLAS's own (idle) pool, as a user would set it.
    ours_env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    ours_env.update(kv.split("=", 1) for kv in args.ours_env)
    ort_cmd = lambda runs: ["node", node_js, args.ort_dir, model, base + "_input.bin", dims,
                            in_name, base + "_ort_out", str(args.threads), str(runs)]

    ours, ort = [], []  # (wall, rss, cpu, parsed node JSON)
    for _ in range(args.reps):  # interleaved
        ours.append(timed(ours_cmd, ours_env)[:3])
        w, rss, cpu, out, _ = timed(ort_cmd(1))
        ort.append((w, rss, cpu, json.loads(out)))
    # ORT steady state: one process, several runs (the first one is warm-up).
    steady = json.loads(timed(ort_cmd(args.ort_runs + 1))[3])["runMs"][1:]

    # Outputs: ours (.npy, by output name) against ORT's.
    diffs = []
    for o in ort[-1][3]["outputs"]:
        ref = np.fromfile(o["file"], dtype=np.float32).reshape(o["dims"])
        mine = np.load(os.path.join(ours_dir, re.sub(r"[^A-Za-z0-9_.-]", "_", o["name"]) + ".npy"))
        assert mine.shape == ref.shape, (mine.shape, ref.shape)
        diffs.append((float(np.abs(mine - ref).max()), float(np.abs(ref).max())))
    max_abs = max(d for d, _ in diffs)
    max_rel = max(d / r for d, r in diffs)

    med = lambda rows, k: statistics.median(r[k] for r in rows)
    size = os.path.getsize(model)
    r = dict(model=name, batch=args.batch, flops=flops, size=size, live=live,
             budget=size + 3 * live,
             ort_s=med(ort, 0), ours_s=med(ours, 0),
             ort_range=(min(o[0] for o in ort), max(o[0] for o in ort)),
             ours_range=(min(o[0] for o in ours), max(o[0] for o in ours)),
             ours_first=ours[0][0], ort_first=ort[0][0],
             ours_rss=max(o[1] for o in ours), ort_rss=max(o[1] for o in ort),
             ours_cpu=med(ours, 2), ort_cpu=med(ort, 2),
             ort_session=statistics.median(o[3]["sessionMs"] for o in ort) / 1e3,
             ort_run1=statistics.median(o[3]["runMs"][0] for o in ort) / 1e3,
             ort_steady=statistics.median(steady) / 1e3, max_abs=max_abs, max_rel=max_rel)
    r["ratio"] = r["ours_s"] / r["ort_s"]
    r["gflops"] = flops / r["ours_s"] / 1e9
    return r


# ----------------------------------------------------------------------------- report

def report(rows, args):
    mb = lambda b: f"{b / 2**20:.0f}"
    ok = lambda c: "yes" if c else "**no**"
    out = [f"| model | batch | ORT s | ours s | ours/ORT | conv GFLOP/s | % of {args.peak:g} GFLOP/s "
           f"| peak RSS MB ours / ORT | max diff (abs, rel) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['batch']} | {r['ort_s']:.2f} | {r['ours_s']:.2f} "
                   f"| {r['ratio']:.2f}x | {r['gflops']:.1f} | {100 * r['gflops'] / args.peak:.1f}% "
                   f"| {mb(r['ours_rss'])} / {mb(r['ort_rss'])} "
                   f"| {r['max_abs']:.2e}, {r['max_rel']:.2e} |")
    out += ["", "| model | conv GFLOP | ours first s | ORT first s | ours min-max s | ORT min-max s "
            "| CPU s ours / ORT "
            "| ORT session s | ORT 1st run s | ORT steady run s | ratio <= 1.5 "
            "| model MB | live act. MB | RSS budget MB | ours within budget | rel diff <= 1e-3 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['flops'] / 1e9:.1f} | {r['ours_first']:.2f} "
                   f"| {r['ort_first']:.2f} | {r['ours_range'][0]:.2f}-{r['ours_range'][1]:.2f} "
                   f"| {r['ort_range'][0]:.2f}-{r['ort_range'][1]:.2f} "
                   f"| {r['ours_cpu']:.2f} / {r['ort_cpu']:.2f} "
                   f"| {r['ort_session']:.2f} | {r['ort_run1']:.2f} | {r['ort_steady']:.2f} "
                   f"| {ok(r['ratio'] <= 1.5)} | {mb(r['size'])} | {mb(r['live'])} "
                   f"| {mb(r['budget'])} | {ok(r['ours_rss'] <= r['budget'])} "
                   f"| {ok(r['max_rel'] <= 1e-3)} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="fresh processes per side (median)")
    ap.add_argument("--ort-runs", type=int, default=5, help="runs for ORT's steady state")
    ap.add_argument("--peak", type=float, default=134.0, help="fp32 peak GFLOP/s to compare to")
    ap.add_argument("--work", default=os.path.join(REPO, "build/bench"), help="models, inputs, outputs")
    ap.add_argument("--amct", default=os.path.join(REPO, "build/bin/amct"))
    ap.add_argument("--ort-dir", default=os.path.join(REPO, "third_party/ort/node_modules/onnxruntime-node"))
    ap.add_argument("--ours-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for our runs, e.g. OPENBLAS_CORETYPE=SkylakeX")
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables here")
    args = ap.parse_args()
    if not shutil.which("node"):
        sys.exit("node is not on PATH")
    os.makedirs(args.work, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        node_js = os.path.join(tmp, "ort_bench.js")
        with open(node_js, "w") as f:
            f.write(NODE_SCRIPT)
        rows, noise = [], []
        for name in args.models:
            c0, w0 = cpu_seconds(), time.perf_counter()
            rows.append(bench_model(name, args, node_js))
            (busy, ours), wall = np.subtract(cpu_seconds(), c0), time.perf_counter() - w0
            noise.append(f"{name} {max(0.0, busy - ours):.1f} CPU s in {wall:.0f} s")
            print(f"{name}: done", file=sys.stderr, flush=True)

    # Other processes skew a 2-core machine: keep their CPU time with the numbers.
    text = report(rows, args) + f"\nCPU time of other processes meanwhile: {', '.join(noise)}\n"
    publish(text, args.markdown)


if __name__ == "__main__":
    main()
