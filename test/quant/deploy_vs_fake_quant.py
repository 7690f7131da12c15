#!/usr/bin/python3
"""The deploy model read with AMCT's rules equals the fake-quant model.

A reader of the deploy model written from AMCT's rules alone (docs/
DeployFormat.md; onnx + numpy, no code of ours): AscendQuant's `dst_type`
gives the width, `scale` is 1/scale_d and `offset` offset_d; the
AscendDequant parameter `<layer>.dequant.param` is uint64 [N] with offset_w
in bits 47:40 and the float32 bits of scale_d * scale_w in bits 31:0, N = 1
or one per output channel; weights are int8 and biases int32 initializers
of the layer; AvgPool2d is AscendQuant -> AveragePool -> AscendDequant with
scale_w = 1. From these it rebuilds every layer's fake-quant arithmetic
(activation scale and zero point, weight integers and scales, int32 bias
and its scale) and compares it with what the fake-quant model (QDQ) holds
for the same layer: they must agree exactly, on every model given. Also
checks AMCT's node and parameter names and the record fields AMCT writes.

usage: deploy_vs_fake_quant.py --amct AMCT MODEL.onnx...
Prints `deploy-vs-fake-quant: P passed, F failed`.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper as nh

LAYER_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "AveragePool")


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def f32_bits(values):
    return np.asarray(values, np.float32).view(np.uint32)


def check_model(name, deploy_path, fq_path, record_path):
    problems = []
    dep = onnx.load(deploy_path)
    fq = onnx.load(fq_path)
    dinit = {i.name: nh.to_array(i) for i in dep.graph.initializer}
    finit = {i.name: nh.to_array(i) for i in fq.graph.initializer}
    dprod = {o: n for n in dep.graph.node for o in n.output}
    fprod = {o: n for n in fq.graph.node for o in n.output}
    dcons = {}
    for n in dep.graph.node:
        for i in n.input:
            dcons.setdefault(i, []).append(n)
    flayers = {n.name: n for n in fq.graph.node if n.op_type in LAYER_OPS}
    record = open(record_path).read()
    checked = 0
    for quant in (n for n in dep.graph.node if n.op_type == "AscendQuant"):
        a = attrs(quant)
        if "dst_type" not in a:
            problems.append(f"{quant.name}: AscendQuant without dst_type")
            continue
        bits = {b"INT8": 8, b"INT4": 4}.get(a["dst_type"])
        if bits is None:
            problems.append(f"{quant.name}: dst_type {a['dst_type']!r}")
            continue
        if set(a) != {"scale", "offset", "dst_type"}:
            problems.append(f"{quant.name}: attributes {sorted(a)}, AMCT writes scale, offset, dst_type")
        for layer in dcons.get(quant.output[0], []):
            if layer.op_type not in LAYER_OPS:
                continue
            lname = layer.name
            if quant.name != lname + ".quant" and not quant.name.endswith(".quant"):
                problems.append(f"{lname}: AscendQuant named {quant.name!r}")
            f = flayers.get(lname)
            if f is None:
                problems.append(f"{lname}: not in the fake-quant model")
                continue
            # Activation: fake-quant QuantizeLinear(scale_d, zero point).
            dq = fprod[f.input[0]]
            s_d = finit[dq.input[1]].astype(np.float32).reshape(())
            zp = finit[dq.input[2]]
            if np.float32(a["scale"]) != np.float32(1) / s_d:
                problems.append(f"{lname}: AscendQuant scale {a['scale']!r} != 1/scale_d {1 / s_d!r}")
            if a["offset"] != float(zp) or zp.dtype != {8: np.int8, 4: np.int8}[bits]:
                problems.append(f"{lname}: offset {a['offset']} vs zero point {zp} ({zp.dtype})")
            # AscendDequant after the layer (after the bias Add for MatMul).
            after = dcons.get(layer.output[0], [])
            bias_add = None
            if len(after) == 1 and after[0].op_type == "Add":
                bias_add = after[0]
                after = dcons.get(bias_add.output[0], [])
            deqs = [n for n in after if n.op_type == "AscendDequant"]
            if len(deqs) != 1:
                problems.append(f"{lname}: {len(deqs)} AscendDequant after the layer")
                continue
            deq = deqs[0]
            if deq.name != lname + ".dequant" or deq.input[1] != lname + ".dequant.param":
                problems.append(f"{lname}: dequant named {deq.name!r}, parameter {deq.input[1]!r}")
            if attrs(deq) != {"dtype": 0}:
                problems.append(f"{lname}: AscendDequant attributes {attrs(deq)}, expected dtype 0")
            param = dinit[deq.input[1]]
            if param.dtype != np.uint64 or param.ndim != 1:
                problems.append(f"{lname}: dequant parameter {param.dtype} {param.shape}")
                continue
            offset_w = (param >> np.uint64(40)) & np.uint64(0xFF)
            deq_scale = (param & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
            if offset_w.any() or (param >> np.uint64(48)).any() or ((param >> np.uint64(32)) & np.uint64(0xFF)).any():
                problems.append(f"{lname}: dequant parameter has high bits set")
            if layer.op_type == "AveragePool":
                # scale_w = 1: the deq scale is scale_d; the record says so.
                if param.shape != (1,) or f32_bits(deq_scale) != f32_bits(s_d * np.float32(1.0)):
                    problems.append(f"{lname}: AvgPool deq {deq_scale} != scale_d {s_d}")
                rec = re.search(r'key: "%s"\s*value \{([^}]*)\}' % re.escape(lname), record)
                if not rec or "scale_w: 1.0" not in rec.group(1) or "offset_w: 0" not in rec.group(1):
                    problems.append(f"{lname}: record lacks AvgPool's scale_w: 1.0 / offset_w: 0")
                checked += 1
                continue
            # Weights: the fake model's int8 integers and scales.
            wdq = fprod[f.input[1]]
            w_int, s_w = finit[wdq.input[0]], finit[wdq.input[1]].astype(np.float32).reshape(-1)
            w_dep = dinit.get(layer.input[1])
            if layer.op_type == "Gemm":
                # AMCT deploys Gemm weights as [K, N] with transB = 0.
                if attrs(layer).get("transB", 0) != 0:
                    problems.append(f"{lname}: deploy Gemm keeps transB = 1")
                if attrs(f).get("transB", 0) == 1 and w_dep is not None:
                    w_dep = w_dep.T
            if w_dep is None or w_dep.dtype != np.int8 or not np.array_equal(w_dep, w_int):
                problems.append(f"{lname}: deploy weights differ from the fake-quant integers")
            channels = {"Conv": w_int.shape[0]}.get(layer.op_type, None)
            if param.shape[0] not in (1, len(s_w)) or (channels and param.shape[0] not in (1, channels)):
                problems.append(f"{lname}: dequant parameter of {param.shape[0]} for {len(s_w)} weight scales")
            want = (s_d * s_w).astype(np.float32)
            if f32_bits(deq_scale).tolist() != f32_bits(np.broadcast_to(want, deq_scale.shape)).tolist():
                problems.append(f"{lname}: deq_scale {deq_scale[:4]} != scale_d * scale_w {want[:4]}")
            # Bias: int32 integers and the accumulator scale.
            fbias = f.input[2] if len(f.input) > 2 and f.input[2] else None
            dbias = layer.input[2] if len(layer.input) > 2 and layer.input[2] else None
            if bias_add is not None:
                dbias = next(i for i in bias_add.input if i in dinit)
                fadd = [n for n in fq.graph.node if f.output[0] in n.input and n.op_type == "Add"]
                fbias = next(i for i in fadd[0].input if i != f.output[0]) if fadd else None
            if (fbias is None) != (dbias is None):
                problems.append(f"{lname}: bias in one model only")
            elif fbias is not None:
                bdq = fprod[fbias]
                b_int, b_scale = finit[bdq.input[0]], finit[bdq.input[1]].astype(np.float32).reshape(-1)
                if dinit[dbias].dtype != np.int32 or not np.array_equal(dinit[dbias].reshape(-1), b_int.reshape(-1)):
                    problems.append(f"{lname}: int32 bias differs")
                if f32_bits(np.broadcast_to(b_scale, deq_scale.shape)).tolist() != f32_bits(deq_scale).tolist() and \
                        f32_bits(b_scale).tolist() != f32_bits(np.broadcast_to(deq_scale, b_scale.shape)).tolist():
                    problems.append(f"{lname}: bias scale differs from deq_scale")
            rec = re.search(r'key: "%s"\s*value \{([^}]*)\}' % re.escape(lname), record)
            if not rec or 'act_type: "INT8"' not in rec.group(1) or 'wts_type: "INT8"' not in rec.group(1):
                problems.append(f"{lname}: record lacks act_type / wts_type")
            checked += 1
    if checked != len(flayers) and not problems:
        quantized = {n.name for n in fq.graph.node if n.op_type in LAYER_OPS and n.input[0] in fprod
                     and fprod[n.input[0]].op_type == "DequantizeLinear"}
        if checked != len(quantized):
            problems.append(f"checked {checked} layers, the fake-quant model quantizes {len(quantized)}")
    return checked, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--config")
    ap.add_argument("models", nargs="+", type=Path)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="amct-deploy-") as tmp:
        for model in args.models:
            name = model.stem
            inputs = sorted(model.with_suffix(".inputs").glob("*.npy"))
            prefix = Path(tmp) / name
            cmd = [args.amct, "quantize", "--model", str(model), "--save-path", str(prefix),
                   "--batch-num", "2", "--cosine-samples", "0"] + [f"--calib-data={p.stem}={p}" for p in inputs]
            if args.config:
                cmd += ["--config", args.config]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(f"FAIL {name}: amct quantize: {proc.stderr.strip()}")
                failed += 1
                continue
            checked, problems = check_model(name, f"{prefix}_deploy_model.onnx",
                                            f"{prefix}_fake_quant_model.onnx", f"{prefix}_record.txt")
            if problems or checked == 0:
                print(f"FAIL {name}: " + ("; ".join(problems) or "no quantized layer found"))
                failed += 1
            else:
                print(f"  {name}: {checked} layers: deploy (AMCT's rules) == fake-quant, exactly")
                passed += 1
    print(f"deploy-vs-fake-quant: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
