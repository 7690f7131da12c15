"""opset18_rmsnorm.py OUT_DIR: an opset-18 RMSNorm + Linear block (the form
newer PyTorch exporters write: ReduceMean with its axes as an input) and
its input and numpy output, for the importer's own inference of Reduce*
with axes inputs (Debian's libonnx knows opsets up to 17)."""
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper as nh
import onnx

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
w = rng.normal(0, 0.1, (8, 16)).astype(np.float32)
g = rng.normal(1, 0.1, (8,)).astype(np.float32)
nodes = [
    helper.make_node("Mul", ["x", "x"], ["sq"], name="square"),
    helper.make_node("ReduceMean", ["sq", "axes"], ["ms"], name="mean", keepdims=1),
    helper.make_node("Add", ["ms", "eps"], ["mse"], name="add_eps"),
    helper.make_node("Sqrt", ["mse"], ["rms"], name="rms"),
    helper.make_node("Div", ["x", "rms"], ["xn"], name="normalize"),
    helper.make_node("Mul", ["xn", "g"], ["xg"], name="norm_weight"),
    helper.make_node("MatMul", ["xg", "w"], ["y"], name="proj"),
    helper.make_node("ReduceSum", ["y"], ["total"], name="total", keepdims=0),
]
graph = helper.make_graph(
    nodes, "opset18_rmsnorm",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
     helper.make_tensor_value_info("total", TensorProto.FLOAT, None)],
    [nh.from_array(np.array([-1], np.int64), "axes"), nh.from_array(np.float32(1e-6), "eps"),
     nh.from_array(g, "g"), nh.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 8
onnx.save(model, out / "model.onnx")
x = rng.normal(0, 1, (2, 4, 8)).astype(np.float32)
np.save(out / "x.npy", x)
xn = x / np.sqrt((x * x).mean(-1, keepdims=True) + np.float32(1e-6)) * g
np.save(out / "y_ref.npy", (xn @ w).astype(np.float32))
