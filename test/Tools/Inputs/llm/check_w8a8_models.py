"""Checks the files `amct quantize` wrote for a W8A8 language-model config,
with onnx + numpy only (no code of ours):

  check_w8a8_models.py PREFIX MODE N_LAYERS SMOOTH

MODE `token`: the deploy model has N_LAYERS QuantBatchMatmulV3 nodes, each
fed by a DynamicQuant (DynamicQuantV2 when asymmetric) of its input, with an
int8 [K, N] weight equal to the fake-quant model's `<layer>.weight_int8`
([K, N], the integers the fake-quant model dequantizes) and its scales. MODE `tensor`: N_LAYERS
AscendDequant nodes, each after an int8 MatMul/Gemm whose weight is the
fake-quant model's integers and whose AscendQuant parameters are 1 /
scale_d and offset_d of the record. SMOOTH 1: every layer
has a tensor_balance_factor in the record; 0: none has. No float weight of a
quantized layer is left in the deploy model.
"""
import re
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper as nh

prefix, mode, count, smooth = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
deploy = onnx.load(prefix + "_deploy_model.onnx")
fake = onnx.load(prefix + "_fake_quant_model.onnx")
record = open(prefix + "_record.txt").read()
dinit = {t.name: nh.to_array(t) for t in deploy.graph.initializer}
finit = {t.name: nh.to_array(t) for t in fake.graph.initializer}
producer = {o: n for n in deploy.graph.node for o in n.output}

# Record entries: layer -> text of its value block.
entries = dict(re.findall(r'key: "([^"]+)"\s*value \{(.*?)\n  \}', record, re.S))
assert len(entries) == count, (len(entries), count)
for name, body in entries.items():
    assert 'act_type: "INT8"' in body and 'wts_type: "INT8"' in body, name
    assert ("tensor_balance_factor" in body) == smooth, name
    assert ("scale_d" in body) == (mode == "tensor"), name

float_weights = [k for k, v in dinit.items() if v.dtype == np.float32 and v.ndim == 2
                 and any(k.startswith(layer) for layer in entries)]
assert not float_weights, float_weights

if mode == "token":
    nodes = [n for n in deploy.graph.node if n.op_type == "QuantBatchMatmulV3"]
    assert len(nodes) == count, (len(nodes), count)
    for node in nodes:
        dq = producer[node.input[0]]
        assert dq.op_type in ("DynamicQuant", "DynamicQuantV2"), dq.op_type
        assert node.input[3] == dq.output[1], (node.name, node.input[3])
        if dq.op_type == "DynamicQuantV2":
            assert node.input[4] == dq.output[2], node.name
        w = dinit[node.input[1]]
        assert w.dtype == np.int8 and w.ndim == 2, (node.name, w.dtype)
        assert np.array_equal(w, finit[node.name + ".weight_int8"]), node.name
        scale = dinit[node.input[2]].reshape(-1)
        fscale = finit[node.name + ".weight_scale"].reshape(-1)
        assert np.array_equal(scale, fscale), node.name
else:
    nodes = [n for n in deploy.graph.node if n.op_type == "AscendDequant"]
    assert len(nodes) == count, (len(nodes), count)
    for node in deploy.graph.node:
        if node.op_type in ("MatMul", "Gemm") and node.name in entries:
            w = dinit[node.input[1]]
            assert w.dtype == np.int8, (node.name, w.dtype)
            assert np.array_equal(w, finit[node.name + ".weight_int8"]), node.name
    for node in deploy.graph.node:
        if node.op_type != "AscendQuant":
            continue
        layer = node.name[: -len(".quant")]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        body = entries[layer]
        scale_d = float(re.search(r"scale_d: (\S+)", body).group(1))
        offset_d = int(re.search(r"offset_d: (\S+)", body).group(1))
        assert np.float32(attrs["scale"]) == np.float32(1.0) / np.float32(scale_d), layer
        assert attrs["offset"] == offset_d, layer
print("checked %d layers" % count)
