#!/usr/bin/python3
"""Checks amct quantize's summary table against the record file, and with
--cosine its cosine column against numpy, for the model of make_skip_model.py.

    check_summary.py SUMMARY RECORD
    check_summary.py --cosine SUMMARY RECORD MODEL.onnx X.npy
"""

import re
import sys

import numpy as np


def table(path):
    """Rows of the quantized-layer table, by layer name."""
    rows = {}
    lines = open(path).read().splitlines()
    assert lines[0].split() == ["layer", "type", "scale_d", "offset_d", "scale_w", "cosine"], lines[0]
    for line in lines[1:]:
        if line.startswith("skipped layer") or re.match(r"\d+ layers? quantized", line):
            break
        name, kind, scale_d, offset_d, scale_w, cosine = line.split()
        rows[name] = dict(type=kind, scale_d=scale_d, offset_d=offset_d, scale_w=scale_w,
                          cosine=cosine)
    return rows


def record(path):
    """The record file: layer -> (scale_d, offset_d, [scale_w])."""
    out = {}
    for key, body in re.findall(r'key: "([^"]+)"\s+value \{(.*?)\}', open(path).read(), re.S):
        get = lambda k: [float(v) for v in re.findall(rf"{k}: (\S+)", body)]
        out[key] = (np.float32(get("scale_d")[0]), int(get("offset_d")[0]),
                    [np.float32(v) for v in get("scale_w")])
    return out


def fake_quant(x, scale, offset, lo=-128, hi=127):
    q = np.clip(np.rint(x / scale) + offset, lo, hi)
    return ((q - offset) * scale).astype(np.float32)


def conv(x, w, b=None, pad=0):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    h, wd = x.shape[2] - k + 1, x.shape[3] - k + 1
    patches = np.stack([x[:, :, i:i + h, j:j + wd] for i in range(k) for j in range(k)], -1)
    y = np.einsum("nchwk,ock->nohw", patches, w.reshape(w.shape[0], w.shape[1], -1))
    return y if b is None else y + b[None, :, None, None]


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return a @ b / np.sqrt((a @ a) * (b @ b))


def main():
    args = sys.argv[1:]
    check_cosine = args[0] == "--cosine"
    if check_cosine:
        args = args[1:]
    rows, rec = table(args[0]), record(args[1])
    assert sorted(rows) == sorted(rec), (sorted(rows), sorted(rec))
    for name, row in rows.items():
        scale_d, offset_d, scale_w = rec[name]
        assert row["scale_d"] == "%.6g" % scale_d, (name, row, scale_d)
        assert int(row["offset_d"]) == offset_d, (name, row, offset_d)
        if len(scale_w) == 1:
            want = "%.6g" % scale_w[0]
        else:
            want = "%.4g..%.4g" % (min(scale_w), max(scale_w))
        assert row["scale_w"] == want, (name, row, want)
    if not check_cosine:
        return

    import onnx
    from onnx import numpy_helper
    model = onnx.load(args[2])
    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    x = np.load(args[3])[:8].astype(np.float64)

    def run(quantized):
        def layer_input(name, v):
            return fake_quant(v, *rec[name][:2]) if quantized else v

        def weight(name, v):
            if not quantized:
                return v
            s = np.array(rec[name][2], np.float64).reshape(-1, *([1] * (v.ndim - 1)))
            return fake_quant(v, s, 0)
        a = conv(layer_input("conv_a", x), weight("conv_a", w["wa"]), w["ba"], pad=1)
        ar = np.maximum(a, 0)
        s = conv(ar, w["ws"]) + conv(ar, w["ws"])  # conv_b, conv_c: not quantized
        f = s.mean(axis=(2, 3))
        y = layer_input("fc", f) @ weight("fc", w["wf"]).T + w["bf"]
        return {"conv_a": a, "fc": y}
    ref, quant = run(False), run(True)
    for name in rows:
        got, want = float(rows[name]["cosine"]), cosine(ref[name], quant[name])
        assert abs(got - want) < 2e-6, (name, got, want)
    print("cosines agree:", {n: rows[n]["cosine"] for n in rows})


if __name__ == "__main__":
    main()
