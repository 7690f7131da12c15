"""same_outputs.py DIR_A DIR_B TOL [NAME,...]: every .npy of DIR_A (or the
named ones) is in DIR_B with the same shape and a max abs difference <= TOL
(0: identical bits); prints it."""
import sys
from pathlib import Path

import numpy as np

a, b, tol = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
files = sorted(a.glob("*.npy"))
if len(sys.argv) > 4:
    files = [a / (n + ".npy") for n in sys.argv[4].split(",")]
assert files, a
for f in files:
    x, y = np.load(f), np.load(b / f.name)
    assert x.shape == y.shape, (f.name, x.shape, y.shape)
    diff = float(np.abs(x.astype(np.float64) - y).max()) if x.size else 0.0
    if tol == 0:
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), (f.name, diff)
    assert diff <= tol, (f.name, diff, tol)
    print("%s max diff %g" % (f.name, diff))
