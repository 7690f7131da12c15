#!/usr/bin/env python3
"""Computes the reference values hard-coded in IfmrTest.cpp and HfmgTest.cpp.

Run: /usr/bin/python3 unittests/Quant/gen_reference_values.py
(needs numpy and torch; the Debian python3-torch 1.13 works).

The values come from code independent of lib/Quant:
  - IFMR: a numpy transcription of the algorithm (float32 arithmetic where
    the C++ uses float: x / scale, (q - offset) * scale).
  - HFMG range error and PyTorch search: torch's own HistogramObserver
    (_compute_quantization_error, _non_linear_param_search) on the histogram,
    and for a single batch also its forward() (histc) to check the binning.
  - HFMG AMCT search and the re-binning merge: numpy transcriptions. If the
    environment variable AMCT_HFMG_IMPL names AMCT's
    amct_pytorch/.../custom_op/hfmg/hfmg_impl.py, its hfmg_get_search_range
    and hfmg_calculate_loss are run on the same histograms as a cross-check.

The data sets are integer LCG streams turned into k / 2^j floats, so the C++
tests regenerate them bit for bit (see Lcg / dataset() in the tests).
"""

import math
import os

import numpy as np
import torch
from torch.ao.quantization.observer import HistogramObserver

MASK64 = (1 << 64) - 1
FLT_EPSILON = float(np.finfo(np.float32).eps)


# --------------------------------------------------------------------------
# Data sets (mirrored by dataset() in the tests)
# --------------------------------------------------------------------------

def lcg(seed):
    s = seed
    while True:
        s = (s * 6364136223846793005 + 1442695040888963407) & MASK64
        yield s >> 33


def dataset(seed, n, shift, denom, period=500):
    """Bell-shaped (sum of 4 uniforms), shifted, every period-th value x4."""
    g = lcg(seed)
    out = []
    for i in range(n):
        v = sum(next(g) % 1024 for _ in range(4)) - 2046 + shift
        if i % period == 7:
            v *= 4
        out.append(v / denom)
    return np.array(out, dtype=np.float32)


# --------------------------------------------------------------------------
# Quantizer (docs/Quantization.md)
# --------------------------------------------------------------------------

def params_from_range(lo, hi, bits, asym):
    lo = min(float(lo), 0.0)
    hi = max(float(hi), 0.0)
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if asym:
        scale = np.float32((hi - lo) / ((1 << bits) - 1))
    else:
        scale = np.float32(max(-lo, hi) / qmax)
    if not scale >= FLT_EPSILON:
        scale = np.float32(1.0)
    if not asym:
        return scale, 0
    off = -np.rint(lo / float(scale)) + qmin
    return scale, int(min(max(off, qmin), qmax))


def fake_quant(x, scale, off, bits):
    qmin, qmax = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    v = x.astype(np.float32) / np.float32(scale)
    q = np.clip(np.rint(v.astype(np.float64)) + off, qmin, qmax)
    return (q - off).astype(np.float32) * np.float32(scale)


def mse(x, scale, off, bits):
    d = fake_quant(x, scale, off, bits).astype(np.float64) - x.astype(np.float64)
    return float(np.mean(d * d))


# --------------------------------------------------------------------------
# IFMR
# --------------------------------------------------------------------------

def start_rank(n, p):
    if n <= 1 or 1.0 - p < FLT_EPSILON:
        return 1
    return min(max(n - int(p * n), 1), n)


def ifmr(x, bits, asym, maxp=0.999999, minp=0.999999, start=0.7, end=1.3,
         step=0.01):
    n = x.size
    s = np.sort(x)
    hi = max(float(s[n - start_rank(n, maxp)]), 0.0)
    lo = min(float(s[start_rank(n, minp) - 1]), 0.0)
    mult = np.arange(start, end, step)
    errs, params = [], []
    for m in mult:
        if asym:
            p = params_from_range(lo, np.float32(hi * m), bits, True)
        else:
            c = np.float32(max(-lo, hi) * m)
            p = params_from_range(-c, c, bits, False)
        params.append(p)
        errs.append(mse(x, p[0], p[1], bits))
    best = int(np.argmin(errs))
    return dict(lo=lo, hi=hi, mult=mult, mse=errs, best=best,
                params=params[best])


# --------------------------------------------------------------------------
# HFMG: histogram and merge (numpy transcription)
# --------------------------------------------------------------------------

class Hist:
    def __init__(self, bins):
        self.h = np.zeros(bins)
        self.min = self.max = None

    def bin_of(self, x, lo, hi):
        nb = self.h.size
        pos = (np.asarray(x, dtype=np.float64) - lo) * nb / (hi - lo)
        return np.clip(np.floor(pos), 0, nb - 1).astype(np.int64)

    def rebin(self, nmin, nmax):
        nb = self.h.size
        merged = np.zeros(nb)
        lo, hi = float(nmin), float(nmax)
        if self.min == self.max:
            merged[self.bin_of(float(self.min), lo, hi)] = self.h.sum()
        else:
            nw = (hi - lo) / nb
            ow = (float(self.max) - float(self.min)) / nb
            base = (float(self.min) - lo) / nw
            ratio = ow / nw
            for i in range(nb):
                c = self.h[i]
                if c == 0:
                    continue
                a = min(max(base + i * ratio, 0.0), nb)
                b = min(max(base + (i + 1) * ratio, 0.0), nb)
                for j in range(int(math.floor(a)), min(int(math.ceil(b)), nb)):
                    ov = min(b, j + 1.0) - max(a, float(j))
                    if ov > 0:
                        merged[j] += c * ov / (b - a)
        self.h = merged
        self.min, self.max = nmin, nmax

    def observe(self, x):
        bmin, bmax = x.min(), x.max()
        if self.min is None:
            self.min, self.max = bmin, bmax
        elif bmin < self.min or bmax > self.max:
            self.rebin(min(self.min, bmin), max(self.max, bmax))
        if self.min == self.max:
            self.h[0] += x.size
            return
        idx = self.bin_of(x, float(self.min), float(self.max))
        np.add.at(self.h, idx, 1.0)


def l2_error(h, width, s, e, dst):
    """PyTorch's _compute_quantization_error, vectorized in float64."""
    nb = h.size
    dw = width * (e - s + 1) / dst
    if dw == 0:
        return 0.0
    src_begin = (np.arange(nb) - s) * width
    src_end = src_begin + width
    b_idx = np.clip(np.floor(src_begin / dw), 0, dst - 1)
    e_idx = np.clip(np.floor(src_end / dw), 0, dst - 1)
    dens = h / width

    def norm(a, b, d):
        return d * (b ** 3 - a ** 3) / 3

    n = norm(src_begin - (b_idx + 0.5) * dw, np.full(nb, dw / 2), dens)
    n += (e_idx - b_idx - 1) * norm(-dw / 2, dw / 2, dens)
    n += norm(-dw / 2, src_end - (e_idx * dw + dw / 2), dens)
    return float(n.sum())


def amct_ranges(h):
    nb = h.size
    total = round(float(h.sum()))
    step = max(math.ceil(total / 100000), 1)
    min_bins = math.ceil(nb / 4)
    left, right, out = 0, nb - 1, []
    while right - left > min_bins:
        tl, tr, ls, rs = left, right, 0.0, 0.0
        while tl < tr and ls < step:
            ls += h[tl]
            tl += 1
        while tl < tr and rs < step:
            rs += h[tr]
            tr -= 1
        if right - tr >= tl - left:
            right = tr
        else:
            left = tl
        out.append((left, right))
    return out


def amct_search(h, width, dst):
    ranges = amct_ranges(h)
    errs = [l2_error(h, width, s, e, dst) for s, e in ranges]
    best = int(np.argmin(errs))
    srt = sorted(errs)
    return ranges[best], errs[best], (srt[1] - srt[0]) / srt[0], len(ranges)


def torch_search(h, hmin, hmax, dst):
    """torch's own _non_linear_param_search on the histogram. Note that it
    compares float32 cumulative counts with Python floats rounded to float32;
    HfmgSearch::PyTorch reproduces that (a float64 port picks other ranges
    for two of the four cases below)."""
    obs = HistogramObserver(bins=h.size)
    obs.dst_nbins = dst  # 2^bits; torch's quint8 default is 256
    obs.histogram = torch.tensor(h, dtype=torch.float32)
    obs.min_val = torch.tensor(float(hmin))
    obs.max_val = torch.tensor(float(hmax))
    new_min, new_max = obs._non_linear_param_search()
    width = (float(hmax) - float(hmin)) / h.size
    s = round((new_min.item() - float(hmin)) / width)
    e = round((new_max.item() - float(hmin)) / width) - 1
    return (s, e), new_min.item(), new_max.item(), obs


def amct_cross_check(h, hmin, hmax, dst, expect):
    path = os.environ.get("AMCT_HFMG_IMPL")
    if not path:
        return
    src = open(path).read()
    # Replace the package-relative imports by the constants they bring.
    src = src.replace("from ....amct_pytorch.utils.vars import (\n"
                      "    BASE,\n    FLT_EPSILON,\n    MIN_BIN_RATIO,\n"
                      "    STEP_DIVISOR,\n    HFMG_POW,\n)\n",
                      "BASE = 2\nFLT_EPSILON = 1.192092896e-7\n"
                      "MIN_BIN_RATIO = 4\nSTEP_DIVISOR = 100000\nHFMG_POW = 3\n")
    src = src.replace("from ....amct_pytorch.custom_op.utils import "
                      "process_scale, calculate_scale_offset\n", "")
    ns = {}
    exec(compile(src, path, "exec"), ns)
    bins = ns["transform_hist"](torch.tensor(h, dtype=torch.float64),
                                torch.tensor([float(hmin), float(hmax)],
                                             dtype=torch.float64), h.size)
    ranges = ns["hfmg_get_search_range"](bins)
    assert [tuple(r) for r in ranges] == amct_ranges(h), "AMCT ranges differ"
    loss = ns["hfmg_calculate_loss"](bins, dst, ranges)
    got = tuple(ranges[int(torch.argmin(loss))])
    print(f"  AMCT hfmg_impl.py picks {got}")
    assert got == expect, "AMCT's own search picks another range"


def report_hfmg(name, hist, bits):
    dst = 1 << bits
    h, hmin, hmax = hist.h, hist.min, hist.max
    width = (float(hmax) - float(hmin)) / h.size
    (a_rng, a_err, a_gap, a_n) = amct_search(h, width, dst)
    (t_rng, t_min, t_max, obs) = torch_search(h, hmin, hmax, dst)
    print(f"{name}, {bits} bits: bins={h.size} min={float(hmin)!r} max={float(hmax)!r} "
          f"mass={h.sum()!r} width={width!r}")
    print(f"  AMCT search: {a_n} ranges, best {a_rng} error {a_err!r} "
          f"(next best {a_gap:.2e} higher)")
    amct_cross_check(h, hmin, hmax, dst, a_rng)
    clip_lo = np.float32(float(hmin) + a_rng[0] * width)
    clip_hi = np.float32(float(hmin) + (a_rng[1] + 1) * width)
    for asym in (False, True):
        print(f"    asym={asym}: clip [{float(clip_lo)!r}, {float(clip_hi)!r}] "
              f"params {params_from_range(clip_lo, clip_hi, bits, asym)}")
    print(f"  torch search: bins {t_rng} range [{t_min!r}, {t_max!r}]")
    for s, e in [(0, h.size - 1), a_rng, t_rng, (100, h.size // 2)]:
        te = obs._compute_quantization_error(s, e)
        me = l2_error(h, width, s, e, dst)
        # torch sums float32 differences of cubes: ~1e-4 relative noise.
        assert abs(te - me) <= 1e-3 * abs(me), (s, e, te, me)
        print(f"    error({s}, {e}) torch {te!r} numpy {me!r}")


def main():
    np.set_printoptions(precision=17)

    print("== arange(0.7, 1.3, 0.01)")
    a = np.arange(0.7, 1.3, 0.01)
    print(f"  len {len(a)} first {a[0]!r} a[30] {a[30]!r} last {a[-1]!r}")

    print("== IFMR")
    x = dataset(1, 4000, 512, 512.0)
    print(f"  data: n={x.size} min={x.min()!r} max={x.max()!r} "
          f"sum={float(x.astype(np.float64).sum())!r}")
    cases = [("sym8 defaults", dict(bits=8, asym=False)),
             ("asym8 defaults", dict(bits=8, asym=True)),
             ("sym8 p=0.99", dict(bits=8, asym=False, maxp=0.99, minp=0.99)),
             ("asym8 p=0.99", dict(bits=8, asym=True, maxp=0.99, minp=0.99)),
             ("sym4 p=0.999", dict(bits=4, asym=False, maxp=0.999,
                                   minp=0.999))]
    for name, kw in cases:
        r = ifmr(x, **kw)
        errs = sorted(r["mse"])
        print(f"  {name}: start [{r['lo']!r}, {r['hi']!r}] "
              f"{len(r['mult'])} candidates, best {r['best']} "
              f"(m={r['mult'][r['best']]!r}) params "
              f"({float(r['params'][0])!r}, {r['params'][1]}) "
              f"mse {r['mse'][r['best']]!r} mse[m=1] {r['mse'][30]!r} "
              f"next best {(errs[1] - errs[0]) / errs[0]:.2e} higher")

    print("== HFMG, one batch, torch forward() for the histogram")
    y = np.concatenate([dataset(5, 200000, 512, 512.0, 4000),
                        np.array([-13.0, 21.0], dtype=np.float32)])
    obs = HistogramObserver(bins=2048)
    obs(torch.from_numpy(y))
    hist = Hist(2048)
    hist.observe(y)
    assert np.array_equal(obs.histogram.numpy().astype(np.float64), hist.h), \
        "binning differs from torch.histc"
    t_min, t_max = obs._non_linear_param_search()
    print(f"  torch forward + search: [{t_min.item()!r}, {t_max.item()!r}]")
    nz = np.nonzero(hist.h)[0]
    print(f"  nonzero bins {nz[:6]} ... {nz[-3:]}, counts "
          f"{hist.h[nz[:6]]} ... {hist.h[nz[-3:]]}")
    for bits in (8, 4):
        report_hfmg("one batch", hist, bits)

    print("== HFMG, three batches widening the range (4096 bins)")
    b1 = dataset(2, 80000, 0, 1024.0, 4000)
    b2 = dataset(3, 80000, 512, 512.0, 4000)
    b3 = dataset(4, 80000, -1024, 512.0, 4000)
    hist = Hist(4096)
    for b in (b1, b2, b3):
        hist.observe(b)
        print(f"  after batch: min {float(hist.min)!r} max {float(hist.max)!r}"
              f" mass {hist.h.sum()!r}")
    for i in (0, 1000, 2000, 2048, 2500, 4095):
        print(f"    h[{i}] = {hist.h[i]!r}")
    for bits in (8, 4):
        report_hfmg("three batches", hist, bits)


if __name__ == "__main__":
    main()
