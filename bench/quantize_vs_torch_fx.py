#!/usr/bin/python3
"""Whole-process benchmark of `amct quantize` against PyTorch FX post-training quantization.

The same ResNet-18-shaped model (random seeded weights, BatchNormalization kept) and the
same 64 seeded 3x224x224 calibration images on both sides, 2 threads each:

    /usr/bin/python3 bench/quantize_vs_torch_fx.py [--reps 3] [--samples 64] [--batch-num 1]

  ours:  build/bin/amct quantize --model resnet18_bench.onnx --calib-data input=X.npy
             --save-path D/r18 --threads T --time-report
         (import, fusion, observers, calibration with IFMR activations and ARQ weights,
         fold, a per-layer fp32 vs fake-quant comparison on 16 samples, the Ascend deploy
         model, export of the fake-quant model, the deploy model and the record file)
  torch: python3 with torch.ao.quantization: prepare_fx with the default qconfig mapping of
         the onednn engine (HistogramObserver activations, per-channel MinMax weights; the
         Debian torch 1.13 build has no fbgemm), calibration forward passes, convert_fx,
         torch.save of the quantized state dict.

Each repetition is a fresh process on each side, timed from spawn to exit, the two sides
interleaved. Reported: median wall time and the ratio, user+sys CPU, peak RSS
(`/usr/bin/time -v`), each side's own phase breakdown (ours from --time-report, torch's
from perf_counter around each step), and the CPU time other processes used meanwhile.
See bench/README.md.
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS_DIR = os.path.join(REPO, "test/models")

# Torch side: one process = import, rebuild the model and load its weights, read the
# images, prepare_fx, calibrate, convert_fx, save. Prints its phase times as JSON.
TORCH_SCRIPT = r"""
import json, sys, time
t = [time.perf_counter()]
phases = []
def lap(name):
    t.append(time.perf_counter()); phases.append([name, t[-1] - t[-2]])
import numpy as np
import torch
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
lap("import torch")
models_dir, weights, images, out, threads, batch_num = sys.argv[1:7]
sys.path.insert(0, models_dir)
import make_models as mm  # the model classes (it also imports onnx)
torch.set_num_threads(int(threads))  # make_models pins 1 thread; undo that
torch.backends.quantized.engine = "onednn"
lap("import model code")
model = mm.ResNet(mm.BasicBlock, [2, 2, 2, 2])
model.load_state_dict(torch.load(weights))
model.eval()
lap("build model, load weights")
x = torch.from_numpy(np.load(images))
lap("read calibration data")
prepared = prepare_fx(model, get_default_qconfig_mapping("onednn"), example_inputs=(x[:1],))
lap("prepare_fx")
with torch.no_grad():
    for batch in torch.chunk(x, int(batch_num)):
        prepared(batch)
lap("calibration (observers in forward)")
quantized = convert_fx(prepared)
lap("convert_fx")
torch.save(quantized.state_dict(), out)
lap("save")
print(json.dumps({"phases": phases, "total": t[-1] - t[0]}))
"""

# Not timed: how close each side's quantized model stays to fp32 on the first images.
TORCH_EVAL_SCRIPT = r"""
import json, sys
import numpy as np
import torch
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
models_dir, weights, images, threads, batch_num, n_eval = sys.argv[1:7]
sys.path.insert(0, models_dir)
import make_models as mm
torch.set_num_threads(int(threads))
torch.backends.quantized.engine = "onednn"
model = mm.ResNet(mm.BasicBlock, [2, 2, 2, 2])
model.load_state_dict(torch.load(weights))
model.eval()
x = torch.from_numpy(np.load(images))
with torch.no_grad():
    ref = model(x[:int(n_eval)]).numpy()
    prepared = prepare_fx(model, get_default_qconfig_mapping("onednn"), example_inputs=(x[:1],))
    for batch in torch.chunk(x, int(batch_num)):
        prepared(batch)
    q = convert_fx(prepared)(x[:int(n_eval)]).numpy()
cos = [float(a @ b / np.sqrt((a @ a) * (b @ b))) for a, b in zip(ref, q)]
print(json.dumps({"fp32": ref.tolist(), "mean_cosine": float(np.mean(cos)),
                  "top1_agreement": float((ref.argmax(1) == q.argmax(1)).mean())}))
"""


# timed(): bench/benchproc.py


def parse_time_report(stderr):
    """Our --time-report: [(step, seconds)] without the total."""
    rows = []
    for line in stderr.splitlines():
        m = re.match(r"^(\S.*?)\s{2,}(\d+\.\d+)\s+(\d+\.\d+)%$", line)
        if m and m[1] != "total" and m[1] != "step":
            rows.append((m[1], float(m[2])))
    return rows


def prepare(args):
    """The ONNX model, the torch weights of the same model, the images; checks that torch
    and our executor agree on the fp32 model (so both sides quantize one model)."""
    os.makedirs(args.work, exist_ok=True)
    onnx_path = os.path.join(args.work, "resnet18_bench.onnx")
    pt_path = os.path.join(args.work, "resnet18_bench.pt")
    if not os.path.exists(onnx_path):
        subprocess.run([sys.executable, os.path.join(MODELS_DIR, "make_models.py"),
                        "--resnet-bench", onnx_path], check=True)
    if not os.path.exists(pt_path):
        # make_models.py builds the model from seed 18 on one thread: bit-identical weights.
        code = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import make_models as mm; "
                "m = mm.randomize_and_calibrate(mm.ResNet(mm.BasicBlock, [2, 2, 2, 2]), 18); "
                "torch.save(m.state_dict(), sys.argv[2])")
        subprocess.run([sys.executable, "-c", code, MODELS_DIR, pt_path], check=True)
    images = os.path.join(args.work, f"calib_{args.samples}x3x224x224.npy")
    x = np.random.default_rng(0).standard_normal((args.samples, 3, 224, 224), dtype=np.float32)
    np.save(images, x)
    return onnx_path, pt_path, images


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="fresh processes per side (median)")
    ap.add_argument("--samples", type=int, default=64, help="calibration images")
    ap.add_argument("--batch-num", type=int, default=1,
                    help="calibration batches on both sides (AMCT's default config: 1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval", type=int, default=16,
                    help="images for the (untimed) accuracy check; 0: skip it")
    ap.add_argument("--ours-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for amct quantize, e.g. --ours-arg=--cosine-samples=0")
    ap.add_argument("--work", default=os.path.join(REPO, "build/bench"))
    ap.add_argument("--amct", default=os.path.join(REPO, "build/bin/amct"))
    ap.add_argument("--markdown", metavar="FILE", help="also write the tables here")
    args = ap.parse_args()

    onnx_path, pt_path, images = prepare(args)
    out_dir = tempfile.mkdtemp(prefix="amct-qbench-")
    ours_cmd = [args.amct, "quantize", "--model", onnx_path, "--calib-data", f"input={images}",
                "--save-path", os.path.join(out_dir, "r18"), "--threads", str(args.threads),
                "--batch-num", str(args.batch_num), "--time-report"] + args.ours_arg
    # As executor_vs_ort.py: OpenBLAS's own pool sized like --threads, as a user would.
    ours_env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    torch_py = os.path.join(out_dir, "torch_fx_ptq.py")
    with open(torch_py, "w") as f:
        f.write(TORCH_SCRIPT)
    torch_cmd = [sys.executable, torch_py, MODELS_DIR, pt_path, images,
                 os.path.join(out_dir, "torch_quantized.pt"), str(args.threads),
                 str(args.batch_num)]

    c0, w0 = cpu_seconds(), time.perf_counter()
    ours, theirs = [], []
    for rep in range(args.reps):  # interleaved: background load hits both alike
        ours.append(timed(ours_cmd, ours_env))
        theirs.append(timed(torch_cmd))
        print(f"rep {rep + 1}: ours {ours[-1][0]:.2f} s, torch {theirs[-1][0]:.2f} s",
              file=sys.stderr, flush=True)
    (busy, mine), wall = np.subtract(cpu_seconds(), c0), time.perf_counter() - w0
    noise = max(0.0, busy - mine)

    med = lambda rows, k: statistics.median(r[k] for r in rows)
    ours_s, torch_s = med(ours, 0), med(theirs, 0)
    mb = lambda b: f"{b / 2**20:.0f}"
    out = [f"ResNet-18 shape, {args.samples} calibration images 3x224x224 in {args.batch_num} "
           f"batch(es), {args.threads} threads, {args.reps} fresh processes per side (median):",
           "",
           "| | wall s (median) | min-max s | user+sys CPU s | peak RSS MB |",
           "|---|---:|---:|---:|---:|",
           f"| amct quantize | {ours_s:.2f} | {min(r[0] for r in ours):.2f}-"
           f"{max(r[0] for r in ours):.2f} | {med(ours, 2):.1f} | {mb(max(r[1] for r in ours))} |",
           f"| PyTorch FX (prepare_fx, calibrate, convert_fx) | {torch_s:.2f} | "
           f"{min(r[0] for r in theirs):.2f}-{max(r[0] for r in theirs):.2f} | "
           f"{med(theirs, 2):.1f} | {mb(max(r[1] for r in theirs))} |",
           "",
           f"amct / PyTorch wall time: **{ours_s / torch_s:.2f}x** "
           f"({'no slower than' if ours_s <= torch_s else 'slower than'} PyTorch)", ""]

    # Phase breakdowns, median per step over the repetitions.
    def phase_table(title, runs):
        names = [n for n, _ in runs[0]]
        total = sum(statistics.median(dict(r)[n] for r in runs) for n in names)
        rows = [f"| {title} | s | share |", "|---|---:|---:|"]
        for n in names:
            s = statistics.median(dict(r)[n] for r in runs)
            rows.append(f"| {n} | {s:.2f} | {100 * s / total:.0f}% |")
        return rows
    out += phase_table("amct quantize step (--time-report)",
                       [parse_time_report(r[4]) for r in ours]) + [""]
    out += phase_table("PyTorch step (in-process perf_counter; interpreter start not included)",
                       [json.loads(r[3])["phases"] for r in theirs]) + [""]

    if args.eval:
        # Untimed: each side's quantized model against fp32 on the first images.
        ev = json.loads(subprocess.run(
            [sys.executable, "-c", TORCH_EVAL_SCRIPT, MODELS_DIR, pt_path, images,
             str(args.threads), str(args.batch_num), str(args.eval)],
            check=True, capture_output=True, text=True).stdout)
        x = np.load(images)[:args.eval]
        np.save(os.path.join(out_dir, "eval.npy"), x)
        # The executor runs the deploy model (bit-exact Ascend simulation; it has no
        # QuantizeLinear kernel for the fake-quant model, which agrees within a step).
        subprocess.run([args.amct, "run", "--model", os.path.join(out_dir, "r18_deploy_model.onnx"),
                        "--input", f"input={os.path.join(out_dir, 'eval.npy')}",
                        "--output-dir", os.path.join(out_dir, "eval")],
                       check=True, capture_output=True, env=ours_env)
        subprocess.run([args.amct, "run", "--model", onnx_path,
                        "--input", f"input={os.path.join(out_dir, 'eval.npy')}",
                        "--output-dir", os.path.join(out_dir, "eval_fp32")],
                       check=True, capture_output=True, env=ours_env)
        q = np.load(os.path.join(out_dir, "eval", "logits.npy")).astype(np.float64)
        ref = np.load(os.path.join(out_dir, "eval_fp32", "logits.npy")).astype(np.float64)
        torch_ref = np.array(ev["fp32"])
        same = float(np.abs(torch_ref - ref).max() / np.abs(ref).max())
        cos = np.mean([a @ b / np.sqrt((a @ a) * (b @ b)) for a, b in zip(ref, q)])
        agree = float((ref.argmax(1) == q.argmax(1)).mean())
        out += ["Untimed check on the first %d images (logits, quantized vs fp32):" % args.eval, "",
                "| | mean cosine | top-1 agreement |", "|---|---:|---:|",
                f"| amct deploy model (executor's Ascend simulation) | {cos:.5f} | "
                f"{100 * agree:.1f}% |",
                f"| PyTorch quantized model | {ev['mean_cosine']:.5f} | "
                f"{100 * ev['top1_agreement']:.1f}% |", "",
                f"Same fp32 model on both sides: torch vs our executor, max abs diff / max |logit| "
                f"= {same:.1e}.", ""]

    out.append(f"CPU time of other processes meanwhile: {noise:.1f} CPU s in {wall:.0f} s")
    shutil.rmtree(out_dir)
    text = "\n".join(out) + "\n"
    publish(text, args.markdown)


if __name__ == "__main__":
    main()
