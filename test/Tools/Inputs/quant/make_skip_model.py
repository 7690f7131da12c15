#!/usr/bin/python3
"""Writes a small ONNX model whose layers AMCT quantizes or skips for every
reason the quantizer knows, and seeded calibration data for it:

  conv_a  Conv2d, quantizable
  conv_b  Conv2d sharing its weight with conv_c: both skipped (shared weight)
  conv_c
  fc_t    Gemm with transA=1: skipped (AMCT's Linear has no transposed input)
  fc      Gemm, quantizable

    make_skip_model.py OUT.onnx OUT.npy

With --matrix-bias it writes instead a static-batch model whose Gemm fc_m
has a C of shape [batch, N] (one value per sample, not per channel: it has
no int32 form, so the layer is skipped) next to a Gemm fc with C [N].
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def weight(name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)


if sys.argv[1] == "--matrix-bias":
    out_model, out_data = sys.argv[2:4]
    nodes = [
        helper.make_node("Gemm", ["x", "wm", "bm"], ["ym"], name="fc_m", transB=1),
        helper.make_node("Gemm", ["x", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("wm", [3, 4]), weight("bm", [2, 3]), weight("wf", [3, 4]), weight("bf", [3])]
    graph = helper.make_graph(
        nodes, "matrix_bias", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("ym", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out_model)
    np.save(out_data, rng.standard_normal((2, 4)).astype(np.float32))
    sys.exit(0)

nodes = [
    helper.make_node("Conv", ["x", "wa", "ba"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["a"], ["ar"], name="relu_a"),
    helper.make_node("Conv", ["ar", "ws"], ["b"], name="conv_b"),
    helper.make_node("Conv", ["ar", "ws"], ["c"], name="conv_c"),
    helper.make_node("Add", ["b", "c"], ["s"], name="add"),
    helper.make_node("GlobalAveragePool", ["s"], ["p"], name="pool"),
    helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
    helper.make_node("Transpose", ["f"], ["ft"], name="transpose", perm=[1, 0]),
    helper.make_node("Gemm", ["ft", "wt"], ["y_t"], name="fc_t", transA=1),
    helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
]
inits = [weight("wa", [4, 3, 3, 3]), weight("ba", [4]), weight("ws", [4, 4, 1, 1]),
         weight("wt", [4, 2]), weight("wf", [3, 4]), weight("bf", [3])]
graph = helper.make_graph(
    nodes, "skips",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
    [helper.make_tensor_value_info("y_t", TensorProto.FLOAT, ["batch", 2]),
     helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model, full_check=True)
onnx.save(model, sys.argv[1])
np.save(sys.argv[2], rng.standard_normal((16, 3, 8, 8)).astype(np.float32))
