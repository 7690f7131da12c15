"""Checks ADA's weights against the float weights, independently of amct.

usage: check_ada.py FLOAT_MODEL ADA_MODEL RECORD SUMMARY
FLOAT_MODEL: the fused fp32 model (amct quantize --modified-model with an
ARQ config); ADA_MODEL: the modified model of the ADA run; RECORD: its
record; SUMMARY: its printed summary. For every layer the summary lists
under "weight rounding", its weight in ADA_MODEL must be scale_w * q with
integer q in int8's range, q must be floor or ceil of w / scale_w (ADA only
chooses the rounding direction), and the number of weights rounded away
from nearest must be the count the summary prints.
"""
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

fp_path, ada_path, record_path, summary_path = sys.argv[1:5]


def weights(path):
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return {n.name: inits[n.input[1]] for n in m.graph.node
            if n.op_type in ("Conv", "ConvTranspose", "Gemm") and n.input[1] in inits}


def record_scales(text):
    scales = {}
    for block in re.findall(r"record \{(.*?)\n\}", text, re.S):
        key = re.search(r'key: "([^"]+)"', block).group(1)
        scales[key] = np.array([float(v) for v in re.findall(r"scale_w: ([-0-9.e+]+)", block)],
                               np.float32)
    return scales


fp, ada = weights(fp_path), weights(ada_path)
scales = record_scales(open(record_path).read())
summary = open(summary_path).read()
checked = 0
for name, flipped, count in re.findall(
        r"^  (\S+): ada: (\d+) of (\d+) weights rounded the other way", summary, re.M):
    w, wa, s = fp[name].astype(np.float32), ada[name].astype(np.float32), scales[name]
    # Per channel along the output-channel axis (ConvTranspose: 1; Gemm
    # [N, K] with transB, as the exporter writes torch's Linear: 0).
    axis = 1 if wa.ndim == 4 and "ConvTranspose" in name else 0
    shape = [1] * wa.ndim
    shape[axis] = -1
    s = s.reshape(shape) if s.size > 1 else s.reshape([1] * wa.ndim)
    q = wa / s
    assert np.all(np.abs(q - np.rint(q)) < 1e-3), f"{name}: ADA weights off the grid"
    q = np.rint(q)
    assert q.min() >= -128 and q.max() <= 127, f"{name}: outside int8"
    x = w / s
    assert np.all((q == np.floor(x)) | (q == np.ceil(x))), f"{name}: not floor or ceil"
    nearest = np.clip(np.rint(x), -128, 127)
    assert int((q != nearest).sum()) == int(flipped), \
        f"{name}: {(q != nearest).sum()} flipped, summary says {flipped}"
    assert q.size == int(count)
    checked += 1
print(f"{checked} ADA layers: weights on the record's grid, floor or ceil of the float "
      f"weights, flips as reported")
