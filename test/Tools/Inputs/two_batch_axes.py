"""A model whose two inputs do not share dim 0 (a sequence-first input and an
initial state, as recurrent models take them): x [3, 2, 4] and h [1, 2, 4],
concatenated along dim 0 and fed to a Linear (MatMul by a constant)."""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
w = rng.standard_normal((4, 32)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Concat", ["x", "h"], ["c"], name="cat", axis=0),
     helper.make_node("MatMul", ["c", "w"], ["y"], name="fc")],
    "two_batch_axes",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, "b", 4]),
     helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, "b", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, "b", 32])],
    [numpy_helper.from_array(w, "w")])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]),
          str(out / "model.onnx"))
np.save(out / "x.npy", rng.standard_normal((3, 2, 4)).astype(np.float32))
np.save(out / "h.npy", rng.standard_normal((1, 2, 4)).astype(np.float32))
