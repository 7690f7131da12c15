"""Models that are valid ONNX but fail only when run, for runtime-errors.test.

Writes <out>/<case>.onnx and <out>/<case>.x.npy for each case; the shapes
that make them fail come from the data (dynamic dims), so import accepts them.
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def save(name, nodes, inputs, outputs, inits=(), opset=13, x=None):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, str(out / f"{name}.onnx"))
    np.save(out / f"{name}.x.npy", x)


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def i64(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.INT64, shape)


# Reshape of 6 elements to [4, -1].
save("reshape", [helper.make_node("Reshape", ["x", "s"], ["y"], name="bad_reshape")],
     [f32("x", ["n"])], [f32("y", None)],
     [helper.make_tensor("s", TensorProto.INT64, [2], [4, -1])],
     x=np.arange(6, dtype=np.float32))
# Expand of [3] to [2, 4].
save("expand", [helper.make_node("Expand", ["x", "s"], ["y"], name="bad_expand")],
     [f32("x", ["n"])], [f32("y", None)],
     [helper.make_tensor("s", TensorProto.INT64, [2], [2, 4])],
     x=np.ones(3, dtype=np.float32))
# Gather index 7 on an axis of 3 (the indices are the graph input).
save("gather", [helper.make_node("Gather", ["d", "x"], ["y"], name="bad_gather")],
     [i64("x", [1])], [f32("y", None)],
     [helper.make_tensor("d", TensorProto.FLOAT, [3], [1, 2, 3])],
     x=np.array([7], dtype=np.int64))
# ScatterND index out of range.
save("scatternd", [helper.make_node("ScatterND", ["d", "x", "u"], ["y"], name="bad_scatter")],
     [i64("x", [1, 1])], [f32("y", None)],
     [helper.make_tensor("d", TensorProto.FLOAT, [3], [1, 2, 3]),
      helper.make_tensor("u", TensorProto.FLOAT, [1], [9])],
     x=np.array([[5]], dtype=np.int64))
# A Loop whose condition never turns false and that has no trip count.
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
     helper.make_node("Identity", ["v_in"], ["v_out"])],
    "body", [i64("i", []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
             f32("v_in", [1])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), f32("v_out", [1])])
save("loop", [helper.make_node("Loop", ["", "c", "x"], ["y"], name="endless", body=body)],
     [f32("x", [1])], [f32("y", [1])],
     [helper.make_tensor("c", TensorProto.BOOL, [], [True])],
     x=np.ones(1, dtype=np.float32))
# Gather's axis out of range: caught when the node runs.
save("axis", [helper.make_node("Gather", ["x", "i"], ["y"], name="bad_axis", axis=3)],
     [f32("x", None)], [f32("y", None)],
     [helper.make_tensor("i", TensorProto.INT64, [1], [0])],
     x=np.ones((2, 2), dtype=np.float32))
# Scan at opset 8 (its batched form, which the executor does not run): the
# model is valid ONNX; `amct run` refuses it before running, naming the
# opsets it does run.
scan_body = helper.make_graph(
    [helper.make_node("Add", ["s_in", "x_in"], ["s_out"]),
     helper.make_node("Identity", ["s_out"], ["y_out"])],
    "body", [f32("s_in", [2]), f32("x_in", [2])], [f32("s_out", [2]), f32("y_out", [2])])
save("scan8", [helper.make_node("Scan", ["", "init", "x"], ["s", "y"], name="old_scan",
                                num_scan_inputs=1, body=scan_body)],
     [f32("x", [1, 3, 2])], [f32("s", [1, 2]), f32("y", [1, 3, 2])],
     [helper.make_tensor("init", TensorProto.FLOAT, [1, 2], [0, 0])], opset=8,
     x=np.ones((1, 3, 2), dtype=np.float32))
