#!/usr/bin/python3
"""AMCT's post-training quantization call sequence, from Python.

    PYTHONPATH=build/python python3 examples/python/ptq_cnn.py [OUT_DIR]

Quantizes the bundled trained CNN (test/models/cnn_bn.onnx) with the
calibration samples that come with it, prints the per-layer report, and
checks the fake-quant model against the fp32 model on held-out samples.
"""
import sys
from pathlib import Path

import numpy as np

import amct_mlir as amct

repo = Path(__file__).resolve().parents[2]
model = str(repo / "test" / "models" / "cnn_bn.onnx")
samples = np.load(repo / "test" / "models" / "cnn_bn.inputs" / "input.npy")
out = Path(sys.argv[1] if len(sys.argv) > 1 else "out")
out.mkdir(parents=True, exist_ok=True)
calib, held_out = samples[:32], samples[32:]

# 1. The config: every quantizable layer, AMCT's defaults.
info = amct.create_quant_config(str(out / "q.json"), model, skip_layers=None, batch_num=1,
                                activation_offset=True)
print(f"{len(info['layers'])} quantizable layers")

# 2. Fuse, calibrate (the executor runs the batches), record the factors.
report = amct.quantize_model(str(out / "q.json"), model, str(out / "modified.onnx"),
                             str(out / "record.txt"), input_data={"input": calib})
for row in report["quantized"]:
    print(f"  {row['name']:22} {row['type']:10} scale_d {row['scale_d']:.6g}  "
          f"cosine {row['cosine']:.6f}")

# 3. The fake-quant model (ONNX Runtime) and the deploy model (Ascend).
files = amct.save_model(str(out / "modified.onnx"), str(out / "record.txt"),
                        str(out / "cnn_bn"))["files"]
print("fake-quant model:", files["fake_quant_model"])
print("deploy model:", files["deploy_model"])

# 4. How much did quantization cost on samples it did not see?
fp32 = amct.run_model(model, {"input": held_out})["logits"]
fake = amct.run_model(files["fake_quant_model"], {"input": held_out})["logits"]
cos = (fp32 * fake).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(fake, axis=1)
agree = np.mean(fp32.argmax(1) == fake.argmax(1))
print(f"held-out: mean cosine {cos.mean():.6f}, top-1 agreement {agree * 100:.1f}%")
