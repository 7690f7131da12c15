#!/usr/bin/python3
"""Writes broken variants of a deploy model for the bad-input tests:
  no_dst_type.onnx     the first AscendQuant without dst_type
  bad_dst_type.onnx    dst_type "INT3"
  param_float.onnx     the first dequant parameter as float32
  param_length.onnx    the first dequant parameter with 3 elements
usage: break_deploy_model.py DEPLOY.onnx OUTDIR"""
import copy
import sys

import numpy as np
import onnx
from onnx import numpy_helper as nh

src, out = sys.argv[1], sys.argv[2]
base = onnx.load(src)


def variant(name, edit):
    m = copy.deepcopy(base)
    edit(m)
    onnx.save(m, f"{out}/{name}.onnx")


def first(m, op):
    return next(n for n in m.graph.node if n.op_type == op)


def drop_dst_type(m):
    q = first(m, "AscendQuant")
    keep = [a for a in q.attribute if a.name != "dst_type"]
    del q.attribute[:]
    q.attribute.extend(keep)


def bad_dst_type(m):
    q = first(m, "AscendQuant")
    for a in q.attribute:
        if a.name == "dst_type":
            a.s = b"INT3"


def replace_param(m, make):
    d = first(m, "AscendDequant")
    for i, t in enumerate(m.graph.initializer):
        if t.name == d.input[1]:
            m.graph.initializer[i].CopyFrom(nh.from_array(make(nh.to_array(t)), t.name))


variant("no_dst_type", drop_dst_type)
variant("bad_dst_type", bad_dst_type)
variant("param_float", lambda m: replace_param(m, lambda a: a.view(np.uint32)[::2].view(np.float32).copy()))
variant("param_length", lambda m: replace_param(m, lambda a: a[:3].copy()))
