#!/usr/bin/python3
"""Language-model weight quantization, end to end, on a random-weight
Llama-shaped model of about 110 M parameters (the character model's
architecture from test/llm/make_char_lm.py at 12 layers, hidden 768, 12
heads over 4 key/value heads, SwiGLU 2048, vocabulary 16000):

    bench/llm_quantize.py [--build DIR] [--config int4-group128-gptq | w8a8-... ]
                          [--sequences 32] [--tokens 256] [--threads 2]

`amct quantize` with the config on --sequences calibration sequences of
--tokens tokens (in 4 batches), timed as a whole process; prints the wall
time, the `--time-report` breakdown, and the peak RSS against the model's
weight bytes (the issue's budgets: 3 minutes, 2x). The model is made once
into DIR/bench/ (torch.onnx.export; about a minute).
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "test" / "llm"))
from benchproc import timed  # noqa: E402

CONFIGS = {
    "int4-group128-gptq": {"type": "int4", "strategy": "group", "group_size": 128, "algo": "gptq"},
    "int4-group128-awq": {"type": "int4", "strategy": "group", "group_size": 128, "algo": "awq"},
    "int4-group128-minmax": {"type": "int4", "strategy": "group", "group_size": 128,
                             "algo": "minmax"},
    "int8-channel-minmax": {"type": "int8", "strategy": "channel", "algo": "minmax"},
    # W8A8: the minmax baselines and what SmoothQuant / per-token add.
    "w8a8-tensor-minmax": {"type": "int8", "strategy": "channel", "algo": "minmax",
                           "inputs": "tensor"},
    "w8a8-tensor-smoothquant": {"type": "int8", "strategy": "channel", "algo": "smoothquant",
                                "inputs": "tensor"},
    "w8a8-token-minmax": {"type": "int8", "strategy": "channel", "algo": "minmax",
                          "inputs": "token"},
    "w8a8-token-smoothquant": {"type": "int8", "strategy": "channel", "algo": "smoothquant",
                               "inputs": "token"},
}


SMALL = dict(vocab=16000, hidden=768, heads=12, kv_heads=4, layers=12, ff=2048)
# Over 2 GB of float32 weights: ONNX keeps them as external data.
BIG = dict(vocab=32000, hidden=2048, heads=16, kv_heads=4, layers=10, ff=5632)


def make_model(path, sizes):
    import torch
    from make_char_lm import CharLM, Dims, export
    torch.manual_seed(0)
    dims = Dims(**sizes)
    model = CharLM(dims).eval()
    with torch.no_grad():
        for p in model.parameters():  # trained-like scales: unit RMSNorm, small weights
            if p.dim() == 2:
                p.normal_(0.0, 0.02)
    params = sum(p.numel() for p in model.parameters())
    export(model, torch.zeros(1, 8, dtype=torch.long), path)
    return params


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--config", default="int4-group128-gptq", choices=sorted(CONFIGS))
    parser.add_argument("--sequences", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--big", action="store_true",
                        help="the 2.3 GB model (580 M parameters, external data) instead")
    args = parser.parse_args()
    work = args.build / "bench"
    name = "llama2g" if args.big else "llama110m"
    if args.big:
        work = work / name  # its external data files beside it
    work.mkdir(parents=True, exist_ok=True)
    model = work / (name + ".onnx")
    if not model.exists():
        print(f"making {model} ...", flush=True)
        params = make_model(model, BIG if args.big else SMALL)
        print(f"{params / 1e6:.1f} M parameters")
    # The model file and, for the big one, its external data files.
    weight_bytes = sum(f.stat().st_size for f in work.iterdir()
                       if f.is_file() and f.suffix not in (".npy", ".json")) \
        if args.big else os.path.getsize(model)
    vocab = (BIG if args.big else SMALL)["vocab"]
    tokens = np.random.default_rng(0).integers(0, vocab, size=(args.sequences, args.tokens))
    np.save(work / (name + ".calib.npy"), tokens.astype(np.int64))
    spec = CONFIGS[args.config]
    weights = {"type": spec["type"], "symmetric": True, "strategy": spec["strategy"]}
    if "group_size" in spec:
        weights["group_size"] = spec["group_size"]
    config = {"batch_num": 4, "quant_cfg": {"weights": weights}, "algorithm": spec["algo"],
              "skip_layers": ["lm_head"]}
    if "inputs" in spec:
        config["quant_cfg"]["inputs"] = {"type": "int8", "strategy": spec["inputs"]}
    (work / (name + ".json")).write_text(json.dumps(config))
    cmd = [str(args.build / "bin" / "amct"), "quantize", "--model", str(model),
           "--config", str(work / (name + ".json")),
           "--calib-data", "tokens=" + str(work / (name + ".calib.npy")),
           "--save-path", str(work / (name + "_q") / "P"), "--threads", str(args.threads),
           "--cosine-samples", "0", "--time-report"]
    wall, rss, cpu, stdout, stderr = timed(cmd)
    report = stderr[stderr.find("amct quantize: time report"):]
    report = report[:report.find("\tCommand being timed")] if "\tCommand" in report else report
    print(report.rstrip())
    print(f"{args.config}: {args.sequences} x {args.tokens} tokens, {args.threads} threads: "
          f"wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss / 1e6:.0f} MB = "
          f"{rss / weight_bytes:.2f}x the model's {weight_bytes / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
