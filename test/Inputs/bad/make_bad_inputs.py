#!/usr/bin/python3
"""Writes a corpus of small, deliberately broken ONNX inputs for importer tests.

Run:  /usr/bin/python3 test/Inputs/bad/make_bad_inputs.py [OUT_DIR]
(OUT_DIR defaults to the directory of this script.)  Deterministic: re-running
produces byte-identical files.

The models are built with onnx.helper and serialized directly (SerializeToString),
deliberately bypassing onnx.checker, because the checker would reject most of
them.  Each file targets exactly one defect so a test can assert on one error.

File                                   Defect -> what a correct importer must do
-------------------------------------  ------------------------------------------------
valid_tiny.onnx                        CONTROL: Conv(3->4, 3x3, pad 1) + Relu, X 1x3x8x8,
                                       opset 13.  Must import (and pass onnx.checker).
empty.onnx                             0 bytes.  Protobuf "parses" it as an empty
                                       ModelProto, so the importer must itself reject it:
                                       "empty file" / "model has no graph" (ir_version 0).
random.onnx                            1 KiB of seeded random bytes.  Protobuf parse
                                       error ("failed to parse ModelProto").
not_onnx.txt                           A text file.  C++ protobuf fails to parse it
                                       (Python's parser tolerates it and yields a model
                                       without ir_version/graph): "not an ONNX model" /
                                       parse error; never a crash.
truncated.onnx                         valid_tiny.onnx cut in half (inside the weight
                                       raw_data).  Protobuf parse error (truncated).
missing_initializer.onnx               Conv whose weight "W" is neither an initializer,
                                       a graph input nor a node output.  "undefined
                                       value 'W'" (unresolved tensor name).
undefined_input.onnx                   Relu reading "ghost", which nobody produces.
                                       "undefined value 'ghost'".
cycle.onnx                             A = Add(X, B); B = Add(A, X).  The graph has a
                                       cycle, so no topological order exists: "graph is
                                       not a DAG / cycle" (and must not hang or recurse
                                       forever).
duplicate_output.onnx                  Two Relu nodes both write "Y".  SSA violation:
                                       "value 'Y' defined more than once".
duplicate_node_output_graph_input.onnx A node writes "X", which is also a graph input.
                                       SSA violation: "value 'X' redefined".
conv_channel_mismatch.onnx             X 1x3x8x8, W 4x5x3x3, group 1: Conv needs
                                       C_in == W.dim1 * group (3 != 5).  Shape/verify
                                       error naming the Conv node.
attr_wrong_type.onnx                   Conv with group as FLOAT 1.0 and strides as
                                       STRING "1,1".  "attribute 'group' has wrong type
                                       (expected INT)" - not a silent reinterpretation.
initializer_dims_mismatch.onnx         Initializer dims [1000,1000] (float) but raw_data
                                       holds only 4 floats (16 bytes).  "initializer
                                       data size mismatch"; must not read out of bounds.
initializer_huge_dims.onnx             Initializer dims [2^20, 2^20] = 2^40 elements
                                       with 16 bytes of data.  Must be rejected before
                                       allocating (size mismatch / too large), no OOM.
negative_dims.onnx                     Initializer with dims [-5].  "invalid (negative)
                                       dimension".
opset_too_new.onnx                     Default-domain opset 99.  "unsupported opset
                                       version 99".
scan_missing_attribute.onnx            Scan (opset 9) without num_scan_inputs.  Found
                                       by the importer fuzzer: ONNX's own shape
                                       inference crashed on it.
convtranspose_scalar_weight.onnx       ConvTranspose whose weight input is a scalar.
                                       Found by the importer fuzzer: ONNX's shape
                                       inference crashed on it.

The script also writes expected_errors.tsv (file name, short error category) so
tests can iterate over the corpus without duplicating this table.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

# IR version 8 / opset 13: what onnx 1.12 (Debian 12) writes and reads natively.
IR_VERSION = 8
OPSET = 13


def make_model(nodes, inputs, outputs, initializers=(), opset=OPSET, name="bad"):
    """Builds a ModelProto without any validation (helper never checks)."""
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs),
                              initializer=list(initializers))
    model = helper.make_model(graph, producer_name="amct-mlir-bad-inputs",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = IR_VERSION
    return model


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def float_init(name, shape, seed):
    """Float initializer stored as raw_data (the layout real exporters use)."""
    data = np.random.RandomState(seed).randn(*shape).astype(np.float32)
    return helper.make_tensor(name, TensorProto.FLOAT, list(shape),
                              data.tobytes(), raw=True)


def raw_init(name, dims, payload):
    """Initializer with arbitrary dims and raw bytes (dims are not checked)."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = payload
    return t


def conv_relu(w_name="W", attrs=None, w_init=True, w_shape=(4, 3, 3, 3),
              x_shape=(1, 3, 8, 8)):
    """Conv(X, W, B) -> Relu, the shape shared by several cases."""
    attrs = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]} if attrs is None else attrs
    c_out = w_shape[0]
    inits = [float_init("B", (c_out,), seed=2)]
    if w_init:
        inits.insert(0, float_init(w_name, w_shape, seed=1))
    nodes = [helper.make_node("Conv", ["X", w_name, "B"], ["C"], name="conv", **attrs),
             helper.make_node("Relu", ["C"], ["Y"], name="relu")]
    return make_model(nodes, [vi("X", list(x_shape))],
                      [vi("Y", [x_shape[0], c_out, x_shape[2], x_shape[3]])], inits)


def relu_model(opset=OPSET):
    return make_model([helper.make_node("Relu", ["X"], ["Y"], name="relu")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])], opset=opset)


def parses(data):
    try:
        onnx.ModelProto().ParseFromString(data)
        return True
    except Exception:  # google.protobuf.message.DecodeError
        return False


def build():
    """Returns [(file name, bytes, expected error category)]."""
    out = []

    def add(name, payload, expected):
        if isinstance(payload, onnx.ModelProto):
            payload = payload.SerializeToString()
        out.append((name, payload, expected))

    valid = conv_relu()
    onnx.checker.check_model(valid)  # the control must really be valid
    valid_bytes = valid.SerializeToString()
    add("valid_tiny.onnx", valid_bytes, "ok")

    add("empty.onnx", b"", "empty model / no graph")

    rnd = np.random.RandomState(1234).bytes(1024)
    assert not parses(rnd), "seeded random bytes happen to parse; change the seed"
    add("random.onnx", rnd, "protobuf parse error")

    add("not_onnx.txt",
        b"This is not an ONNX model.\nIt is a plain text file used to check that\n"
        b"the importer reports a parse error instead of crashing.\n",
        "protobuf parse error / not an ONNX model")

    truncated = valid_bytes[:len(valid_bytes) // 2]
    assert not parses(truncated), "half of valid_tiny still parses"
    add("truncated.onnx", truncated, "protobuf parse error")

    add("missing_initializer.onnx", conv_relu(w_init=False),
        "undefined value 'W'")

    add("undefined_input.onnx",
        make_model([helper.make_node("Relu", ["ghost"], ["Y"], name="relu")],
                   [vi("X", [1, 4])], [vi("Y", [1, 4])]),
        "undefined value 'ghost'")

    add("cycle.onnx",
        make_model([helper.make_node("Add", ["X", "B"], ["A"], name="add_a"),
                    helper.make_node("Add", ["A", "X"], ["B"], name="add_b")],
                   [vi("X", [1, 4])], [vi("B", [1, 4])]),
        "graph has a cycle")

    add("duplicate_output.onnx",
        make_model([helper.make_node("Relu", ["X"], ["Y"], name="relu_1"),
                    helper.make_node("Relu", ["X"], ["Y"], name="relu_2")],
                   [vi("X", [1, 4])], [vi("Y", [1, 4])]),
        "value 'Y' defined more than once")

    add("duplicate_node_output_graph_input.onnx",
        make_model([helper.make_node("Relu", ["X"], ["X"], name="relu"),
                    helper.make_node("Identity", ["X"], ["Y"], name="id")],
                   [vi("X", [1, 4])], [vi("Y", [1, 4])]),
        "value 'X' defined more than once")

    add("conv_channel_mismatch.onnx", conv_relu(w_shape=(4, 5, 3, 3)),
        "conv channel mismatch (3 != 5 * 1)")

    add("attr_wrong_type.onnx",
        conv_relu(attrs={"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
                         "group": 1.0,        # FLOAT, must be INT
                         "strides": "1,1"}),  # STRING, must be INTS
        "attribute has wrong type")

    add("initializer_dims_mismatch.onnx",
        make_model([helper.make_node("Add", ["X", "W"], ["Y"], name="add")],
                   [vi("X", [1000, 1000])], [vi("Y", [1000, 1000])],
                   [raw_init("W", [1000, 1000], np.arange(4, dtype=np.float32).tobytes())]),
        "initializer data size mismatch")

    add("initializer_huge_dims.onnx",
        make_model([helper.make_node("Add", ["X", "W"], ["Y"], name="add")],
                   [vi("X", [1, 1])], [vi("Y", [1 << 20, 1 << 20])],
                   [raw_init("W", [1 << 20, 1 << 20], np.arange(4, dtype=np.float32).tobytes())]),
        "initializer too large / data size mismatch")

    add("negative_dims.onnx",
        make_model([helper.make_node("Add", ["X", "W"], ["Y"], name="add")],
                   [vi("X", [5])], [vi("Y", [5])],
                   [raw_init("W", [-5], np.arange(5, dtype=np.float32).tobytes())]),
        "negative dimension")

    add("opset_too_new.onnx", relu_model(opset=99), "unsupported opset 99")

    # Found by amct-onnx-import-fuzzer: libonnx's Scan-9 shape inference
    # dereferences the missing num_scan_inputs attribute and crashes.
    body = helper.make_graph(
        [helper.make_node("Add", ["s", "xi"], ["s_out"], name="acc"),
         helper.make_node("Identity", ["s_out"], ["yi"], name="id")],
        "body", [vi("s", [2]), vi("xi", [2])], [vi("s_out", [2]), vi("yi", [2])])
    add("scan_missing_attribute.onnx",
        make_model([helper.make_node("Scan", ["init", "X"], ["S", "Y"], name="scan",
                                     body=body)],
                   [vi("init", [2]), vi("X", [3, 2])], [vi("S", [2]), vi("Y", [3, 2])],
                   opset=9),
        "node does not match its ONNX schema (required attribute missing)")

    # Found by amct-onnx-import-fuzzer: libonnx's ConvTranspose inference
    # reads the weight's dims without checking its rank and crashes.
    add("convtranspose_scalar_weight.onnx",
        make_model([helper.make_node("ConvTranspose", ["X", "W"], ["Y"], name="deconv")],
                   [vi("X", [1, 1, 3, 3]), vi("W", [])], [vi("Y", None)], opset=11),
        "weight rank 0 differs from the input rank 4")
    return out


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out_dir, exist_ok=True)
    rows = build()
    for name, payload, _ in rows:
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(payload)
        print(f"{name:40s} {len(payload):6d} bytes")
    with open(os.path.join(out_dir, "expected_errors.tsv"), "w") as f:
        f.write("# file\texpected error category (see make_bad_inputs.py)\n")
        for name, _, expected in rows:
            f.write(f"{name}\t{expected}\n")


if __name__ == "__main__":
    main()
