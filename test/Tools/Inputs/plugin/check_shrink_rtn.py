"""check_shrink_rtn.py MODEL.onnx PREFIX LAYER RATIO: the fake-quant model's
int4 integers and group-32 scales of LAYER are round-to-nearest of the
original weight with each group's absmax shrunk by RATIO, computed here
with numpy (the test plugin's algorithm, independently)."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper as nh

model, prefix, layer, ratio = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
w = {i.name: nh.to_array(i) for i in onnx.load(model).graph.initializer}[layer + ".weight"]
fq = {i.name: nh.to_array(i) for i in onnx.load(prefix + "_fake_quant_model.onnx").graph.initializer}
k, n = w.shape
absmax = np.abs(w.reshape(k // 32, 32, n)).max(axis=1).astype(np.float64)
scale = np.where(absmax > 0, (absmax * ratio / 7).astype(np.float32), np.float32(1))
q = np.clip(np.rint(w / np.repeat(scale, 32, axis=0)), -8, 7).astype(np.int8)
assert np.array_equal(fq[layer + ".weight_scale"], scale), "scales differ"
assert np.array_equal(fq[layer + ".weight_int4"], q), "integers differ"
print(f"{layer}: {q.size} integers and {scale.size} scales as numpy computes them")
