#!/usr/bin/python3
"""Writes the small ONNX models of the importer/exporter lit tests.

    make_op_models.py [--untyped-outputs | --with-untyped] OUTDIR [CASE...]

One model per case (all cases when none is named), OUTDIR/<case>.onnx; the
external-data cases also write their side files under OUTDIR/data/.
--untyped-outputs drops the types of the graph outputs (see UNTYPED_OUTPUTS
below); --with-untyped writes both kinds, the untyped ones to OUTDIR/u/.

Every model is tiny and deterministic: the weights are arange-based, nothing
random. Models that are valid ONNX pass onnx.checker.check_model; the few
deliberately unusual ones say why they are not checked. The expected shapes
in the tests are computed by hand from the ONNX operator specification, not
from these models.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL

CASES = {}
# --untyped-outputs: graph outputs carry no type at all (not valid for
# onnx.checker, but common in the wild). Imported with
# --no-onnx-shape-inference, the result types then come from the typed ops'
# own inference, which the tests check against the same expected shapes.
UNTYPED_OUTPUTS = False


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def ramp(shape, scale=0.125, dtype=np.float32):
    """Deterministic weights: 0, 0.125, 0.25, ... reshaped."""
    n = int(np.prod(shape)) if shape else 1
    return (np.arange(n, dtype=np.float64) * scale).astype(dtype).reshape(shape)


def ints(values):
    return np.asarray(values, dtype=np.int64)


def model(nodes, inputs, outputs, inits=(), opset=13, name=None, extra_opsets=(),
          ir_version=None, check=True):
    graph = helper.make_graph(list(nodes), name or "g", list(inputs), list(outputs),
                              initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v)
                                                 for d, v in extra_opsets]
    m = helper.make_model(graph, opset_imports=opsets, producer_name="make_op_models")
    # Pin the IR version so the output does not depend on the onnx release.
    m.ir_version = ir_version if ir_version is not None else 8
    # Outputs declared without a shape (vi(..., None)) get their rank only,
    # all dims unknown: the checker wants a shape on graph outputs, and the
    # importer must find the dims itself.
    pending = [o for o in m.graph.output
               if o.type.HasField("tensor_type") and not o.type.tensor_type.HasField("shape")]
    if pending:
        inferred = onnx.shape_inference.infer_shapes(m)
        ranks = {o.name: len(o.type.tensor_type.shape.dim) for o in inferred.graph.output
                 if o.type.tensor_type.HasField("shape")}
        for o in pending:
            if o.name in ranks:
                shape = o.type.tensor_type.shape
                shape.SetInParent()
                for _ in range(ranks[o.name]):
                    shape.dim.add()
    if check:
        onnx.checker.check_model(m)
    if UNTYPED_OUTPUTS:
        for o in m.graph.output:
            o.ClearField("type")
    return m


def unary(op, x_shape, opset=13, **attrs):
    return model([helper.make_node(op, ["X"], ["Y"], name=op.lower(), **attrs)],
                 [vi("X", F, x_shape)], [vi("Y", F, None)], opset=opset)


# --------------------------------------------------------------------- conv

@case
def conv2d():
    # pads/strides/dilations/group all set.
    return model(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          group=2, pads=[1, 1, 2, 2], strides=[2, 1],
                          dilations=[1, 2], kernel_shape=[3, 3])],
        [vi("X", F, [1, 4, 9, 9])], [vi("Y", F, None)],
        [init("W", ramp([6, 2, 3, 3])), init("B", ramp([6]))])


@case
def conv1d():
    return model(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv", strides=[2])],
        [vi("X", F, [1, 2, 10])], [vi("Y", F, None)],
        [init("W", ramp([3, 2, 3])), init("B", ramp([3]))])


@case
def conv3d():
    return model(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          pads=[0, 0, 0, 1, 1, 1])],
        [vi("X", F, [1, 1, 4, 5, 6])], [vi("Y", F, None)],
        [init("W", ramp([2, 1, 2, 2, 2])), init("B", ramp([2]))])


@case
def conv_depthwise():
    return model(
        [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv",
                          group=3, pads=[1, 1, 1, 1])],
        [vi("X", F, [1, 3, 8, 8])], [vi("Y", F, None)],
        [init("W", ramp([3, 1, 3, 3])), init("B", ramp([3]))])


@case
def conv_same_upper():
    return model(
        [helper.make_node("Conv", ["X", "W"], ["Y"], name="conv",
                          auto_pad="SAME_UPPER", strides=[2, 2])],
        [vi("X", F, [1, 2, 7, 7])], [vi("Y", F, None)],
        [init("W", ramp([4, 2, 3, 3]))])


@case
def conv_no_bias():
    return model(
        [helper.make_node("Conv", ["X", "W"], ["Y"], name="conv")],
        [vi("X", F, [1, 2, 5, 5])], [vi("Y", F, None)],
        [init("W", ramp([3, 2, 3, 3]))])


@case
def conv_transpose_stride2():
    return model(
        [helper.make_node("ConvTranspose", ["X", "W"], ["Y"], name="deconv",
                          strides=[2, 2])],
        [vi("X", F, [1, 2, 3, 3])], [vi("Y", F, None)],
        [init("W", ramp([2, 4, 3, 3]))])


@case
def conv_transpose_output_padding():
    return model(
        [helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], name="deconv",
                          strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])],
        [vi("X", F, [1, 2, 3, 3])], [vi("Y", F, None)],
        [init("W", ramp([2, 3, 3, 3])), init("B", ramp([3]))])


@case
def conv_transpose_group():
    return model(
        [helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], name="deconv",
                          group=2)],
        [vi("X", F, [1, 4, 5, 5])], [vi("Y", F, None)],
        [init("W", ramp([4, 2, 3, 3])), init("B", ramp([4]))])


# ----------------------------------------------------------- gemm / matmul

@case
def gemm_trans():
    return model(
        [helper.make_node("Gemm", ["A", "B", "C"], ["Y"], name="gemm",
                          transA=1, transB=1, alpha=0.5, beta=2.0)],
        [vi("A", F, [4, 3]), vi("B", F, [5, 4]), vi("C", F, [5])], [vi("Y", F, None)])


@case
def gemm_no_c():
    return model(
        [helper.make_node("Gemm", ["A", "B"], ["Y"], name="gemm")],
        [vi("A", F, [2, 3])], [vi("Y", F, None)], [init("B", ramp([3, 4]))])


@case
def matmul_batched():
    return model(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="matmul")],
        [vi("A", F, [2, 1, 3, 4]), vi("B", F, [5, 4, 6])], [vi("Y", F, None)])


@case
def matmul_vec_mat():
    return model(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="matmul")],
        [vi("A", F, [4]), vi("B", F, [2, 4, 3])], [vi("Y", F, None)])


@case
def matmul_mat_vec():
    return model(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="matmul")],
        [vi("A", F, [2, 3, 4]), vi("B", F, [4])], [vi("Y", F, None)])


@case
def matmul_vec_vec():
    return model(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="matmul")],
        [vi("A", F, [4]), vi("B", F, [4])], [vi("Y", F, None)])


# -------------------------------------------------------------- batchnorm

def _bn(opset, **attrs):
    return model(
        [helper.make_node("BatchNormalization", ["X", "scale", "bias", "mean", "var"],
                          ["Y"], name="bn", **attrs)],
        [vi("X", F, [2, 3, 4, 4])], [vi("Y", F, None)],
        [init("scale", ramp([3]) + 1), init("bias", ramp([3])),
         init("mean", ramp([3], 0.5)), init("var", ramp([3]) + 2)], opset=opset)


@case
def batchnorm():
    return _bn(15, epsilon=1e-3)


@case
def batchnorm_opset9():
    return _bn(9)


@case
def batchnorm_training():
    # Three outputs (training mode): no typed op, a generic node.
    return model(
        [helper.make_node("BatchNormalization", ["X", "scale", "bias", "mean", "var"],
                          ["Y", "running_mean", "running_var"], name="bn",
                          training_mode=1)],
        [vi("X", F, [2, 3, 4, 4])],
        [vi("Y", F, None), vi("running_mean", F, None), vi("running_var", F, None)],
        [init("scale", ramp([3]) + 1), init("bias", ramp([3])),
         init("mean", ramp([3], 0.5)), init("var", ramp([3]) + 2)], opset=15)


# ------------------------------------------------------------------ pools

@case
def maxpool_ceil():
    return model(
        [helper.make_node("MaxPool", ["X"], ["Y"], name="pool",
                          kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
        [vi("X", F, [1, 1, 6, 6])], [vi("Y", F, None)])


@case
def maxpool_indices():
    return model(
        [helper.make_node("MaxPool", ["X"], ["Y", "Indices"], name="pool",
                          kernel_shape=[2, 2], strides=[2, 2])],
        [vi("X", F, [1, 2, 4, 4])], [vi("Y", F, None), vi("Indices", I64, None)])


@case
def avgpool_count_include_pad():
    return model(
        [helper.make_node("AveragePool", ["X"], ["Y"], name="pool",
                          kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                          count_include_pad=1)],
        [vi("X", F, [1, 1, 5, 5])], [vi("Y", F, None)])


@case
def global_avgpool():
    return unary("GlobalAveragePool", [2, 3, 5, 7])


# ------------------------------------------------------------ elementwise

def binary(op, a_shape, b_shape, b_type=F, opset=13):
    return model([helper.make_node(op, ["A", "B"], ["C"], name=op.lower())],
                 [vi("A", F, a_shape), vi("B", b_type, b_shape)], [vi("C", F, None)],
                 opset=opset)


@case
def add_broadcast():
    return binary("Add", [2, 1, 4], [3, 1])


@case
def sub():
    return binary("Sub", [2, 3], [])


@case
def mul():
    return binary("Mul", [2, 3], [2, 3])


@case
def div():
    return binary("Div", [4, 1], [1, 5])


@case
def pow_int_exponent():
    # Opset 13 Pow: the exponent may have another element type.
    return model([helper.make_node("Pow", ["X", "E"], ["Z"], name="pow")],
                 [vi("X", F, [2, 3]), vi("E", I64, [])], [vi("Z", F, None)])


@case
def sqrt():
    return unary("Sqrt", [2, 3])


@case
def erf():
    return unary("Erf", [2, 3])


@case
def relu():
    return unary("Relu", [2, 3])


@case
def sigmoid():
    return unary("Sigmoid", [2, 3])


@case
def tanh():
    return unary("Tanh", [2, 3])


@case
def clip_min_max():
    return model([helper.make_node("Clip", ["X", "lo", "hi"], ["Y"], name="clip")],
                 [vi("X", F, [2, 3])], [vi("Y", F, None)],
                 [init("lo", np.array(-1.5, np.float32)),
                  init("hi", np.array(6.0, np.float32))])


@case
def clip_max_only():
    return model([helper.make_node("Clip", ["X", "", "hi"], ["Y"], name="clip")],
                 [vi("X", F, [2, 3])], [vi("Y", F, None)],
                 [init("hi", np.array(6.0, np.float32))])


# -------------------------------------------------------------- shape ops

@case
def concat():
    return model([helper.make_node("Concat", ["A", "B", "C"], ["Y"], name="concat",
                                   axis=-2)],
                 [vi("A", F, [1, 2, 3]), vi("B", F, [1, 4, 3]), vi("C", F, [1, 1, 3])],
                 [vi("Y", F, None)])


@case
def reshape():
    return model([helper.make_node("Reshape", ["X", "shape"], ["Y"], name="reshape")],
                 [vi("X", F, [2, 3, 4])], [vi("Y", F, None)],
                 [init("shape", ints([0, -1]))])


@case
def flatten():
    return model([helper.make_node("Flatten", ["X"], ["Y"], name="flatten", axis=2)],
                 [vi("X", F, [2, 3, 4, 5])], [vi("Y", F, None)])


@case
def flatten_default():
    return unary("Flatten", [2, 3, 4, 5])


@case
def transpose_perm():
    return model([helper.make_node("Transpose", ["X"], ["Y"], name="transpose",
                                   perm=[0, 2, 1])],
                 [vi("X", F, [2, 3, 4])], [vi("Y", F, None)])


@case
def transpose_default():
    return unary("Transpose", [2, 3, 4])


@case
def squeeze_axes():
    return model([helper.make_node("Squeeze", ["X", "axes"], ["Y"], name="squeeze")],
                 [vi("X", F, [1, 3, 1, 4])], [vi("Y", F, None)],
                 [init("axes", ints([0, -2]))])


@case
def squeeze_all():
    return unary("Squeeze", [1, 3, 1, 4])


@case
def unsqueeze():
    return model([helper.make_node("Unsqueeze", ["X", "axes"], ["Y"], name="unsqueeze")],
                 [vi("X", F, [3, 4])], [vi("Y", F, None)],
                 [init("axes", ints([0, 3]))])


@case
def gather():
    return model([helper.make_node("Gather", ["X", "idx"], ["Y"], name="gather", axis=1)],
                 [vi("X", F, [3, 4, 5])], [vi("Y", F, None)],
                 [init("idx", ints([[0, 3], [2, 1]]))])


@case
def slice_neg_steps():
    # Axis 0: rows 1..2; axis 1: columns 8, 6, 4, 2.
    return model([helper.make_node("Slice", ["X", "starts", "ends", "axes", "steps"],
                                   ["Y"], name="slice")],
                 [vi("X", F, [4, 10])], [vi("Y", F, None)],
                 [init("starts", ints([1, 8])), init("ends", ints([3, 1])),
                  init("axes", ints([0, -1])), init("steps", ints([1, -2]))])


@case
def slice_reverse():
    # The whole axis backwards: start -1, end INT64_MIN, step -1.
    return model([helper.make_node("Slice", ["X", "starts", "ends", "axes", "steps"],
                                   ["Y"], name="slice")],
                 [vi("X", F, [4, 10])], [vi("Y", F, None)],
                 [init("starts", ints([-1])),
                  init("ends", ints([np.iinfo(np.int64).min])),
                  init("axes", ints([1])), init("steps", ints([-1]))])


@case
def slice_no_axes():
    # No axes/steps: both are amct.none; ends past the end are clamped.
    return model([helper.make_node("Slice", ["X", "starts", "ends"], ["Y"], name="slice")],
                 [vi("X", F, [4, 10])], [vi("Y", F, None)],
                 [init("starts", ints([1, -3])), init("ends", ints([100, 1000]))])


@case
def pad_constant():
    return model([helper.make_node("Pad", ["X", "pads", "value"], ["Y"], name="pad")],
                 [vi("X", F, [2, 3])], [vi("Y", F, None)],
                 [init("pads", ints([1, 2, 0, 1])), init("value", np.array(0.5, np.float32))])


@case
def pad_reflect():
    return model([helper.make_node("Pad", ["X", "pads"], ["Y"], name="pad", mode="reflect")],
                 [vi("X", F, [3, 4])], [vi("Y", F, None)],
                 [init("pads", ints([0, 1, 0, 2]))])


@case
def shape_start_end():
    return model([helper.make_node("Shape", ["X"], ["Y"], name="shape", start=1, end=-1)],
                 [vi("X", F, [2, 3, 4, 5])], [vi("Y", I64, None)], opset=15)


@case
def cast():
    return model([helper.make_node("Cast", ["X"], ["Y"], name="cast_i64", to=I64),
                  helper.make_node("Cast", ["X"], ["Z"], name="cast_f16",
                                   to=TensorProto.FLOAT16)],
                 [vi("X", F, [2, 3])], [vi("Y", I64, None), vi("Z", TensorProto.FLOAT16, None)])


# ---------------------------------------------- reductions, normalization

@case
def softmax():
    return unary("Softmax", [2, 3, 4], axis=1)


@case
def reducemean_keepdims0():
    return model([helper.make_node("ReduceMean", ["X"], ["Y"], name="mean",
                                   axes=[1, -2], keepdims=0)],
                 [vi("X", F, [2, 3, 4, 5])], [vi("Y", F, None)])


@case
def reducemean_keepdims():
    return model([helper.make_node("ReduceMean", ["X"], ["Y"], name="mean", axes=[-1])],
                 [vi("X", F, [2, 3, 4, 5])], [vi("Y", F, None)])


@case
def reducemean_opset18():
    # Opset 18 moved axes to an input: no typed op. onnx 1.12 (the checker
    # and the importer's shape inference) knows opsets up to 17 only, so the
    # output is declared in full and the model is not checked.
    return model([helper.make_node("ReduceMean", ["X", "axes"], ["Y"], name="mean",
                                   keepdims=0)],
                 [vi("X", F, [2, 3, 4, 5])], [vi("Y", F, [2, 4, 5])],
                 [init("axes", ints([1]))], opset=18, check=False)


@case
def layernorm():
    return model([helper.make_node("LayerNormalization", ["X", "scale", "bias"], ["Y"],
                                   name="ln", axis=-1, epsilon=1e-3)],
                 [vi("X", F, [2, 3, 4])], [vi("Y", F, None)],
                 [init("scale", ramp([4]) + 1), init("bias", ramp([4]))], opset=17)


@case
def layernorm_no_bias():
    return model([helper.make_node("LayerNormalization", ["X", "scale"], ["Y"],
                                   name="ln", axis=1)],
                 [vi("X", F, [2, 3, 4])], [vi("Y", F, None)],
                 [init("scale", ramp([3, 4]) + 1)], opset=17)


# --------------------------------------------------------------- constants

@case
def constants():
    t = numpy_helper.from_array(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), "t")
    return model([helper.make_node("Constant", [], ["T"], name="c_tensor", value=t),
                  helper.make_node("Constant", [], ["F"], name="c_float", value_float=1.5),
                  helper.make_node("Constant", [], ["I"], name="c_ints",
                                   value_ints=[1, 2, 3])],
                 [], [vi("T", F, None), vi("F", F, None), vi("I", I64, None)])


# ------------------------------------------------------- generic fallbacks

@case
def softmax_opset11():
    return unary("Softmax", [2, 3, 4], opset=11, axis=1)


@case
def squeeze_opset12():
    return model([helper.make_node("Squeeze", ["X"], ["Y"], name="squeeze", axes=[0, 2])],
                 [vi("X", F, [1, 3, 1, 4])], [vi("Y", F, None)], opset=12)


@case
def custom_op():
    t = numpy_helper.from_array(np.array([1, 2, 3], np.int32), "tensor_attr")
    node = helper.make_node("MyOp", ["X"], ["Y", "Z"], name="custom",
                            domain="com.example", alpha=0.25, sizes=[2, 3],
                            mode="fast", tags=["a", "b"], table=t)
    # A custom domain has no schema: onnx.checker cannot check its node.
    return model([node], [vi("X", F, [2, 3])],
                 [vi("Y", F, [2, 3]), vi("Z", F, None)],
                 extra_opsets=[("com.example", 1)], check=False)


@case
def if_outer():
    then_g = helper.make_graph([helper.make_node("Relu", ["X"], ["then_y"], name="then_relu")],
                               "then_graph", [], [vi("then_y", F, [3])])
    else_g = helper.make_graph([helper.make_node("Neg", ["X"], ["else_y"], name="else_neg")],
                               "else_graph", [], [vi("else_y", F, [3])])
    return model([helper.make_node("If", ["cond"], ["Y"], name="if",
                                   then_branch=then_g, else_branch=else_g)],
                 [vi("cond", BOOL, []), vi("X", F, [3])], [vi("Y", F, [3])])


@case
def loop():
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
         helper.make_node("Add", ["v_in", "X"], ["v_out"], name="body_add")],
        "body",
        [vi("i", I64, []), vi("cond_in", BOOL, []), vi("v_in", F, [2])],
        [vi("cond_out", BOOL, []), vi("v_out", F, [2])])
    return model([helper.make_node("Loop", ["M", "cond", "v0"], ["V"], name="loop",
                                   body=body)],
                 [vi("M", I64, []), vi("cond", BOOL, []), vi("v0", F, [2]), vi("X", F, [2])],
                 [vi("V", F, [2])])


@case
def unnamed_node():
    return model([helper.make_node("Relu", ["X"], ["H"]),
                  helper.make_node("Sigmoid", ["H"], ["Y"], name="named")],
                 [vi("X", F, [2])], [vi("Y", F, None)])


@case
def opset7_initializer_inputs():
    # IR version 3: initializers are also listed as graph inputs.
    return model([helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="gemm",
                                   transB=1)],
                 [vi("X", F, [1, 4]), vi("W", F, [3, 4]), vi("B", F, [3])],
                 [vi("Y", F, [1, 3])],
                 [init("W", ramp([3, 4])), init("B", np.array([1, 2, 3], np.float32))],
                 opset=7, ir_version=3)


EXTERNAL_BIN = "data/external_data.bin"
SHORT_BIN = "data/external_data_short.bin"


def _external(name, array, offset, length, location=EXTERNAL_BIN):
    t = TensorProto()
    t.name, t.data_type = name, F
    t.dims.extend(array.shape)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)),
                 ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


@case
def external_data():
    # Two initializers in one side file: B (3 floats) at offset 0, W (12
    # floats) after 4 bytes of padding at offset 16.
    b = np.array([0.5, -1.0, 2.0], np.float32)
    w = ramp([3, 4])
    blob = b.tobytes() + b"\0" * 4 + w.tobytes()
    return model([helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="gemm", transB=1)],
                 [vi("X", F, [1, 4])], [vi("Y", F, None)],
                 [_external("B", b, 0, 12), _external("W", w, 16, 48)],
                 check=False), {EXTERNAL_BIN: blob}


@case
def external_data_escape():
    # A location outside the model's folder is refused.
    return model([helper.make_node("Relu", ["W"], ["Y"], name="relu")],
                 [], [vi("Y", F, None)],
                 [_external("W", ramp([3]), 0, 12, location="../escape.bin")], check=False)


@case
def external_data_short():
    # The side file holds fewer bytes than the tensor needs.
    return model([helper.make_node("Relu", ["W"], ["Y"], name="relu")],
                 [], [vi("Y", F, None)],
                 [_external("W", ramp([3, 4]), 16, 48, location=SHORT_BIN)], check=False), \
        {SHORT_BIN: b"\0" * 40}


@case
def dim_param():
    return model([helper.make_node("Relu", ["X"], ["Y"], name="relu")],
                 [vi("X", F, ["batch", 3])], [vi("Y", F, ["batch", 3])])


@case
def conv_unknown_attr():
    # An attribute Conv does not define: the typed op cannot hold it, so the
    # node stays generic (and onnx.checker would refuse it).
    return model([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", group=1,
                                   vendor_hint="fast")],
                 [vi("X", F, [1, 2, 5, 5])], [vi("Y", F, [1, 3, 3, 3])],
                 [init("W", ramp([3, 2, 3, 3]))], check=False)


@case
def gemm_opset6():
    # Gemm before opset 7 (with its `broadcast` attribute): generic.
    return model([helper.make_node("Gemm", ["A", "B", "C"], ["Y"], name="gemm",
                                   broadcast=1)],
                 [vi("A", F, [2, 3]), vi("B", F, [3, 4]), vi("C", F, [4])],
                 [vi("Y", F, [2, 4])], opset=6, ir_version=3)


@case
def identity_sequence():
    # Identity of a sequence: not a tensor, so not the typed amct.Identity.
    return model([helper.make_node("SequenceConstruct", ["X", "X"], ["S"], name="seq"),
                  helper.make_node("Identity", ["S"], ["T"], name="id")],
                 [vi("X", F, [2])],
                 [helper.make_tensor_sequence_value_info("T", F, [2])], opset=14)


@case
def maxpool_unnamed_indices():
    # An output slot left unnamed: generic node, the empty name kept.
    return model([helper.make_node("MaxPool", ["X"], ["Y", ""], name="pool",
                                   kernel_shape=[2, 2])],
                 [vi("X", F, [1, 1, 4, 4])], [vi("Y", F, None)])


@case
def if_same_names():
    # Both branches name their output "y": legal, each subgraph is its own
    # scope (onnx.checker accepts it).
    def branch(op):
        return helper.make_graph([helper.make_node(op, ["X"], ["y"], name=op.lower())],
                                 op.lower() + "_branch", [], [vi("y", F, [3])])
    return model([helper.make_node("If", ["cond"], ["Y"], name="if",
                                   then_branch=branch("Relu"), else_branch=branch("Neg"))],
                 [vi("cond", BOOL, []), vi("X", F, [3])], [vi("Y", F, [3])])


@case
def initializer_input_order():
    # IR version 3, the initializer W listed as the FIRST graph input.
    return model([helper.make_node("Gemm", ["X", "W", "B"], ["Y"], name="gemm", transB=1)],
                 [vi("W", F, [3, 4]), vi("X", F, [1, 4]), vi("B", F, [3])],
                 [vi("Y", F, [1, 3])],
                 [init("W", ramp([3, 4])), init("B", np.array([1, 2, 3], np.float32))],
                 opset=7, ir_version=3)


@case
def typed_data_fields():
    # Initializers in the typed data fields instead of raw_data, one per
    # data type (each one is also a graph output).
    tensors = [
        helper.make_tensor("f32", F, [2], [1.5, -2.0]),
        helper.make_tensor("f64", TensorProto.DOUBLE, [2], [0.25, -8.0]),
        helper.make_tensor("i64", I64, [3], [-1, 0, 2 ** 40]),
        helper.make_tensor("i32", TensorProto.INT32, [2], [-7, 7]),
        helper.make_tensor("i8", TensorProto.INT8, [3], [-128, -1, 127]),
        helper.make_tensor("u8", TensorProto.UINT8, [2], [0, 255]),
        helper.make_tensor("i16", TensorProto.INT16, [2], [-300, 300]),
        helper.make_tensor("u16", TensorProto.UINT16, [2], [0, 65535]),
        helper.make_tensor("u32", TensorProto.UINT32, [2], [0, 4000000000]),
        helper.make_tensor("u64", TensorProto.UINT64, [1], [2 ** 63]),
        helper.make_tensor("b", BOOL, [3], [True, False, True]),
        helper.make_tensor("f16", TensorProto.FLOAT16, [2],
                           np.array([1.0, -0.5], np.float16)),
        helper.make_tensor("s", TensorProto.STRING, [2], [b"ab", b"c"]),
    ]
    return model([], [], [vi(t.name, t.data_type, list(t.dims)) for t in tensors], tensors)


@case
def tensor_names():
    # Names that are not MLIR identifiers: the resource keys are sanitized
    # (and uniqued), the locations keep the ONNX names.
    return model([helper.make_node("Add", ["a.b", "a_b"], ["s/0"], name="layer1/add"),
                  helper.make_node("Add", ["s/0", "0.weight"], ["out:0"], name="layer1/add_1")],
                 [], [vi("out:0", F, None)],
                 [init("a.b", ramp([3, 4])), init("a_b", ramp([3, 4], 1.0)),
                  init("0.weight", ramp([3, 4], 2.0))])


@case
def model_metadata():
    m = model([helper.make_node("Relu", ["X"], ["Y"], name="relu")],
              [vi("X", F, [2])], [vi("Y", F, None)], name="tiny_graph")
    m.producer_version = "1.2.3"
    m.domain = "com.example.models"
    m.model_version = 42
    m.doc_string = "a tiny model"
    helper.set_model_props(m, {"author": "amct", "license": "MIT"})
    if not UNTYPED_OUTPUTS:
        onnx.checker.check_model(m)
    return m


@case
def reshape_shape_from_graph():
    # The target shape is computed in the graph (Shape -> Gather -> Unsqueeze
    # -> Concat), as transformer exports do: onnx 1.12's inference gives R an
    # element type but no shape; amct.Reshape's own inference knows the rank
    # (the shape operand has 2 elements).
    return model([helper.make_node("Shape", ["X"], ["s"], name="shape"),
                  helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
                  helper.make_node("Unsqueeze", ["n", "axis0"], ["n1"], name="unsqueeze"),
                  helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat",
                                   axis=0),
                  helper.make_node("Reshape", ["X", "target"], ["R"], name="reshape"),
                  helper.make_node("Relu", ["R"], ["Y"], name="relu")],
                 [vi("X", F, ["N", 3, 4])], [vi("Y", F, [None, None])],
                 [init("zero", np.array(0, np.int64)), init("axis0", ints([0])),
                  init("minus1", ints([-1]))])


@case
def reshape_constant_node():
    # The target shape is a Constant node with value_ints: onnx 1.12's
    # inference does not read it, amct.Reshape's inference does (3x8).
    return model([helper.make_node("Constant", [], ["target"], name="target",
                                   value_ints=[3, -1]),
                  helper.make_node("Reshape", ["X", "target"], ["R"], name="reshape"),
                  helper.make_node("Relu", ["R"], ["Y"], name="relu")],
                 [vi("X", F, [2, 3, 4])], [vi("Y", F, [None, None])])


# ------------------------------------------------------------ composites

@case
def small_cnn():
    # A little of everything, for the round trip.
    return model(
        [helper.make_node("Conv", ["X", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "s", "b2", "m", "v"], ["bn"],
                          name="bn"),
         helper.make_node("Relu", ["bn"], ["r"], name="relu"),
         helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2],
                          strides=[2, 2]),
         helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
         helper.make_node("Gemm", ["f", "FW", ""], ["g"], name="fc", transB=1),
         helper.make_node("Softmax", ["g"], ["Y"], name="softmax")],
        [vi("X", F, ["N", 2, 4, 4])], [vi("Y", F, ["N", 5])],
        [init("W", ramp([4, 2, 3, 3])), init("B", ramp([4])), init("s", ramp([4]) + 1),
         init("b2", ramp([4])), init("m", ramp([4])), init("v", ramp([4]) + 1),
         init("FW", ramp([5, 16], 0.01))])


def write_cases(outdir, names):
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        if name not in CASES:
            raise SystemExit(f"make_op_models.py: unknown case '{name}'")
        result = CASES[name]()
        side = {}
        if isinstance(result, tuple):
            result, side = result
        for rel, data in side.items():
            path = os.path.join(outdir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
            f.write(result.SerializeToString())


def main(argv):
    global UNTYPED_OUTPUTS
    args = argv[1:]
    untyped = with_untyped = False
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag == "--untyped-outputs":
            untyped = True
        elif flag == "--with-untyped":
            with_untyped = True
        else:
            args = []
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, names = args[0], args[1:] or sorted(CASES)
    UNTYPED_OUTPUTS = untyped
    write_cases(outdir, names)
    if with_untyped:
        UNTYPED_OUTPUTS = True
        write_cases(os.path.join(outdir, "u"), names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
