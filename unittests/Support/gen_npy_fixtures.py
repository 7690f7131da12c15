#!/usr/bin/env python3
"""Writes the .npy fixtures NpyTest.cpp reads, with real numpy.

Run from anywhere: /usr/bin/python3 unittests/Support/gen_npy_fixtures.py
The values are fixed formulas that NpyTest.cpp recomputes, so the files are
the same on every run (they are committed; rerun only to add fixtures).
Files numpy cannot produce (truncated, lying headers) are built by the test.
"""

import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs")

# Per dtype: element i of the 2x3x4 fixture, for i in 0..23. Chosen to reach
# the sign bit and the top of each integer range; exact in every float type.
VALUES = {
    "float16": lambda i: (i - 12) * 0.25,
    "float32": lambda i: (i - 12) * 0.25,
    "float64": lambda i: (i - 12) * 0.25,
    "int8": lambda i: (i - 12) * 10,
    "int16": lambda i: (i - 12) * 1000,
    "int32": lambda i: (i - 12) * 100000000,
    "int64": lambda i: (i - 12) * 10**17,
    "uint8": lambda i: i * 11,
    "uint16": lambda i: i * 2849,
    "uint32": lambda i: i * 186737708,
    "uint64": lambda i: i * 802032351030850070,
}


def save(name, arr):
    np.save(os.path.join(OUT, name), arr)


def main():
    os.makedirs(OUT, exist_ok=True)

    for dtype, f in VALUES.items():
        a = np.array([f(i) for i in range(24)], dtype=dtype).reshape(2, 3, 4)
        save(f"{dtype}_2x3x4.npy", a)

    save("bool_2x3.npy", np.array([[True, False, True], [True, False, False]]))
    # Zero, -0, 1, -2, max, inf, -inf, nan, smallest subnormal.
    save("float16_specials.npy",
         np.array([0.0, -0.0, 1.0, -2.0, 65504.0, np.inf, -np.inf, np.nan, 2.0**-24],
                  dtype=np.float16))
    save("float32_scalar.npy", np.array(3.5, dtype=np.float32))
    save("float32_empty.npy", np.zeros((0,), dtype=np.float32))
    save("int64_2x0x3.npy", np.zeros((2, 0, 3), dtype=np.int64))

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for version in [(2, 0), (3, 0)]:
        path = os.path.join(OUT, f"float32_2x3_v{version[0]}.npy")
        with open(path, "wb") as fp:
            np.lib.format.write_array(fp, a, version=version)

    # Unsupported: each must fail with a clear message.
    save("fortran_2x3.npy", np.asfortranarray(a))
    save("bigendian_f4.npy", np.arange(6, dtype=">f4"))
    save("object.npy", np.array([1, "a", None], dtype=object))
    save("structured.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    save("unicode.npy", np.array(["ab", "c"]))
    save("complex64.npy", np.zeros(2, dtype=np.complex64))


if __name__ == "__main__":
    main()
