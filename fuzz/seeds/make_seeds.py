#!/usr/bin/env python3
"""Writes the tiny .npy seeds for amct-npy-fuzzer (run from anywhere):
every dtype the reader accepts, both byte orders numpy may write, Fortran
order, a 0-d and an empty array, and a version 2.0 header."""
import os
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)
arrays = {
    "f32": rng.standard_normal((2, 3)).astype(np.float32),
    "f16": rng.standard_normal((4,)).astype(np.float16),
    "i64": np.arange(6, dtype=np.int64).reshape(3, 2),
    "i32": np.arange(-3, 3, dtype=np.int32),
    "i8": np.arange(-4, 4, dtype=np.int8).reshape(2, 2, 2),
    "u8": np.arange(5, dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "scalar": np.float32(1.5),
    "empty": np.zeros((0, 3), np.float32),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    "bigendian": np.arange(4, dtype=">f4"),
}
for name, a in arrays.items():
    np.save(os.path.join(out, name + ".npy"), a)
with open(os.path.join(out, "v2.npy"), "wb") as f:
    a = np.arange(3, dtype=np.float32)
    np.lib.format.write_array_header_2_0(f, np.lib.format.header_data_from_array_1_0(a))
    f.write(a.tobytes())
