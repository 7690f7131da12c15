"""Checks the files `amct quantize` wrote for a language-model weight config,
with onnx + numpy only (no code of ours):

  check_llm_models.py PREFIX MODEL.onnx BITS GROUP N_LAYERS

- the deploy model has N_LAYERS WeightQuantBatchMatmulV2 nodes, each with an
  int8 weight of [K / 2, N] (BITS 4: packed) or [K, N], antiquant_group_size
  GROUP and scales [ceil(K / GROUP), N] ([N] or [1] without groups), and no
  float copy of those weights;
- unpacking each deploy weight gives the integers of the fake-quant model's
  matching `<layer>.weight_int<BITS>` initializer, its scales are the
  fake-quant model's, and its antiquant_offset is minus the fake-quant
  offset;
- the fake-quant model holds no float weight of a quantized layer of
  MODEL.onnx.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper as nh

prefix, model_path, bits, group, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
deploy = onnx.load(prefix + "_deploy_model.onnx")
fake = onnx.load(prefix + "_fake_quant_model.onnx")
orig = onnx.load(model_path)
dinit = {t.name: nh.to_array(t) for t in deploy.graph.initializer}
finit = {t.name: nh.to_array(t) for t in fake.graph.initializer}
oinit = {t.name: nh.to_array(t) for t in orig.graph.initializer}

nodes = [n for n in deploy.graph.node if n.op_type == "WeightQuantBatchMatmulV2"]
assert len(nodes) == count, (len(nodes), count)
for node in nodes:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attrs.get("antiquant_group_size", 0) == group, (node.name, attrs)
    assert attrs.get("weight_dtype", b"INT8") == (b"INT4" if bits == 4 else b"INT8"), attrs
    packed = dinit[node.input[1]]
    assert packed.dtype == np.int8 and packed.ndim == 2, (node.name, packed.dtype)
    if bits == 4:
        low = (packed.astype(np.int16) << 12).astype(np.int16) >> 12
        high = packed.astype(np.int16) >> 4
        q = np.empty((2 * packed.shape[0], packed.shape[1]), np.int16)
        q[0::2], q[1::2] = low, high
    else:
        q = packed.astype(np.int16)
    k, n = q.shape
    fq = finit[node.name + ".weight_int%d" % bits]
    assert np.array_equal(q, fq.astype(np.int16)), node.name
    assert q.min() >= -(1 << (bits - 1)) and q.max() <= (1 << (bits - 1)) - 1
    scale = dinit[node.input[2]]
    groups = -(-k // group) if group else 1
    allowed = [(groups, n)] if group else [(n,), (1,)]
    assert scale.shape in allowed, (node.name, scale.shape, allowed)
    assert np.array_equal(scale.reshape(-1), finit[node.name + ".weight_scale"].reshape(-1)), node.name
    offset_name = node.input[3] if len(node.input) > 3 else ""
    fake_offset = finit.get(node.name + ".weight_offset")
    if offset_name:
        assert np.array_equal(dinit[offset_name].reshape(-1), -fake_offset.reshape(-1)), node.name
    else:
        assert fake_offset is None or not fake_offset.any(), node.name
# No float weight of a quantized layer survives in either model.
for node in nodes:
    assert node.name + ".weight" not in dinit and node.name + ".weight" not in finit, node.name
float_bytes = sum(v.nbytes for v in dinit.values() if v.dtype == np.float32)
print("checked %d layers; deploy float32 bytes %d" % (len(nodes), float_bytes))
