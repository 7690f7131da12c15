"""A one-block Llama-shaped model for the language-model weight flow, with
every case the flow must handle, written with onnx.helper (seeded weights):

  tokens [b, s] -> embedding [256, 128] -> RMSNorm (Mul by its weight)
    -> q_proj [128, 128], k_proj [128, 64], v_proj [128, 64] (one input)
    -> o_proj [128, 128] + bias (MatMul + Add) -> residual
    -> RMSNorm -> gate_proj, up_proj [128, 256] -> SiLU(gate) * up
    -> down_proj [256, 128] -> residual -> lm_head [128, 256] -> logits
  side outputs: small_proj [128, 48] (N fits no Ascend kernel) and cls, a
  Gemm with transB (nn.Linear on a 2-D input) over the mean token.

usage: llm_block.py OUT_DIR [--float16]  (writes model.onnx, tokens.npy [8, 16]
int64; --float16: every float tensor in float16, as half-precision exports are)
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
D, FF, V = 128, 256, 256
inits, nodes = [], []


HALF = "--float16" in sys.argv[2:]
FLOAT = TensorProto.FLOAT16 if HALF else TensorProto.FLOAT


def const(name, array):
    array = np.asarray(array)
    if HALF and array.dtype == np.float32:
        array = array.astype(np.float16)
    inits.append(numpy_helper.from_array(array, name))
    return name


def linear(name, x, k, n, bias=False):
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    # A few large input channels, as language models have (AWQ's case).
    w[:4] *= 4.0
    nodes.append(helper.make_node("MatMul", [x, const(name + ".weight", w)], [name + "_mm"],
                                  name=name))
    if not bias:
        return name + "_mm"
    b = (0.1 * rng.standard_normal(n)).astype(np.float32)
    nodes.append(helper.make_node("Add", [name + "_mm", const(name + ".bias", b)], [name + "_out"],
                                  name=name + "_bias"))
    return name + "_out"


def rms_norm(name, x):
    g = (1.0 + 0.1 * rng.standard_normal(D)).astype(np.float32)
    g[:4] = 3.0  # outlier channels
    nodes.extend([
        helper.make_node("Mul", [x, x], [name + "_sq"], name=name + "_sq"),
        helper.make_node("ReduceMean", [name + "_sq"], [name + "_ms"], name=name + "_mean",
                         axes=[-1], keepdims=1),
        helper.make_node("Add", [name + "_ms", const(name + ".eps", np.float32(1e-6))],
                         [name + "_mse"], name=name + "_eps"),
        helper.make_node("Sqrt", [name + "_mse"], [name + "_rms"], name=name + "_sqrt"),
        helper.make_node("Div", [x, name + "_rms"], [name + "_n"], name=name + "_div"),
        helper.make_node("Mul", [name + "_n", const(name + ".weight", g)], [name + "_out"],
                         name=name),
    ])
    return name + "_out"


emb = rng.standard_normal((V, D)).astype(np.float32)
nodes.append(helper.make_node("Gather", [const("embed.weight", emb), "tokens"], ["h0"],
                              name="embed"))
n1 = rms_norm("input_norm", "h0")
q = linear("q_proj", n1, D, D)
k = linear("k_proj", n1, D, 64)
v = linear("v_proj", n1, D, 64)
nodes += [helper.make_node("Concat", [k, v], ["kv"], name="kv_cat", axis=-1),
          helper.make_node("Mul", [q, "kv"], ["mix"], name="mix")]
o = linear("o_proj", "mix", D, D, bias=True)
nodes.append(helper.make_node("Add", ["h0", o], ["h1"], name="residual1"))
n2 = rms_norm("post_norm", "h1")
gate = linear("gate_proj", n2, D, FF)
up = linear("up_proj", n2, D, FF)
nodes += [helper.make_node("Sigmoid", [gate], ["gate_sig"], name="silu_sig"),
          helper.make_node("Mul", [gate, "gate_sig"], ["gate_act"], name="silu"),
          helper.make_node("Mul", ["gate_act", up], ["ff"], name="swiglu")]
down = linear("down_proj", "ff", FF, D)
nodes.append(helper.make_node("Add", ["h1", down], ["h2"], name="residual2"))
logits = linear("lm_head", "h2", D, V)
small = linear("small_proj", "h2", D, 48)
nodes.append(helper.make_node("ReduceMean", ["h2"], ["pooled"], name="pool", axes=[1],
                              keepdims=0))
wc = (rng.standard_normal((64, D)) / np.sqrt(D)).astype(np.float32)
nodes.append(helper.make_node("Gemm", ["pooled", const("cls.weight", wc),
                                       const("cls.bias", (0.1 * rng.standard_normal(64)).astype(np.float32))],
                              ["cls"], name="cls", transB=1))
nodes += [helper.make_node("Identity", [logits], ["logits"], name="logits_out"),
          helper.make_node("Identity", [small], ["small"], name="small_out")]
graph = helper.make_graph(
    nodes, "llm_block",
    [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["b", "s"])],
    [helper.make_tensor_value_info("logits", FLOAT, ["b", "s", V]),
     helper.make_tensor_value_info("small", FLOAT, ["b", "s", 48]),
     helper.make_tensor_value_info("cls", FLOAT, ["b", 64])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, str(out / "model.onnx"))
np.save(out / "tokens.npy", rng.integers(0, V, size=(8, 16)).astype(np.int64))
