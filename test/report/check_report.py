#!/usr/bin/python3
"""The sensitivity report in a real browser (Debian's chromium, headless).

    check_report.py --amct build/bin/amct --work DIR [--chromium chromium]

For two bundled models (cnn_bn: residual CNN with AvgPool2d and Gemm;
cnn_dw: depthwise, ConvTranspose), `amct quantize --report` writes the page;
chromium loads it and must log no console message (no script, no failed
resource); its DOM must hold every chart: the three summary charts and, per
quantized layer, the activation histogram (one bar per bin, the two clip
lines) and for weighted layers the per-channel weight ranges (one segment
per output channel, as many as the layer has); the page references nothing
outside itself; and the screenshot is not blank (the blue, orange and green
of the charts are there). Exit 1 on failure.
"""
import argparse
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import onnx
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "test" / "models"


class Charts(HTMLParser):
    """Each <svg class="chart ..."> with the count of its child elements by tag."""

    def __init__(self):
        super().__init__()
        self.charts, self.current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and "chart" in attrs.get("class", ""):
            self.current = {"id": attrs.get("id"), "class": attrs["class"], "tags": {}}
            self.charts.append(self.current)
        elif self.current is not None:
            self.current["tags"][tag] = self.current["tags"].get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None


def check(args, model, work, problems):
    name = model.stem
    prefix = work / name
    html = Path(str(prefix) + "_report.html")
    out = subprocess.run([args.amct, "quantize", "--model", str(model), "--calib-data",
                          str(MODELS / f"{name}.inputs" / "input.npy"), "--save-path", str(prefix),
                          "--report", str(html)], capture_output=True, text=True)
    if out.returncode:
        problems.append(f"{name}: amct quantize --report failed: {out.stderr}")
        return
    text = html.read_text()
    if re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|<script|@import|url\(""", text):
        problems.append(f"{name}: the report references something outside itself")
    base = [str(a) for a in [args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                             "--enable-logging=stderr", "--v=0"]]
    url = html.resolve().as_uri()
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    if dom.returncode or "<svg" not in dom.stdout:
        problems.append(f"{name}: chromium could not load the page: {dom.stderr[-500:]}")
        return
    console = [l for l in dom.stderr.splitlines() if "CONSOLE" in l]
    if console:
        problems.append(f"{name}: console messages: {console[:3]}")
    parser = Charts()
    parser.feed(dom.stdout)
    charts = {c["id"]: c for c in parser.charts}

    summary = re.search(r"(\d+) layers quantized", out.stdout)
    quantized = int(summary.group(1))
    record = Path(str(prefix) + "_record.txt").read_text()
    fused = onnx.load(str(prefix) + "_fake_quant_model.onnx")
    for cid in ["cosine-graph-order", "cosine-sorted", "sqnr"]:
        c = charts.get(cid)
        if not c or c["tags"].get("rect", 0) != quantized:
            problems.append(f"{name}: chart {cid}: {c and c['tags']} (expected {quantized} bars)")
    hist = [c for c in parser.charts if "hist" in c["class"]]
    weights = [c for c in parser.charts if "weights" in c["class"]]
    if len(hist) != quantized:
        problems.append(f"{name}: {len(hist)} histograms for {quantized} layers")
    for c in hist:
        if c["tags"].get("rect", 0) != 64 or c["tags"].get("line", 0) != 2:
            problems.append(f"{name}: histogram {c['id']} has {c['tags']} (64 bars, 2 clip lines)")
    # Weight charts: one segment per output channel (plus the zero line),
    # as many channels as the layer's scale_w count says when per channel.
    per_channel = [len(re.findall(r"scale_w:", block))
                   for block in re.findall(r"record \{(.*?)\n\}", record, re.S)
                   if "scale_w" in block]
    segments = sorted(c["tags"].get("line", 0) - 1 for c in weights)
    if not weights or any(s < 1 for s in segments):
        problems.append(f"{name}: weight charts {segments}")
    channel_counts = sorted(n for n in per_channel if n > 1)
    if not set(channel_counts) <= set(segments):
        problems.append(f"{name}: weight channel counts {channel_counts} not among {segments}")

    shot = work / f"{name}.png"
    subprocess.run(base + [f"--screenshot={shot}", "--window-size=1100,1800", url],
                   capture_output=True, timeout=120)
    if not shot.exists():
        problems.append(f"{name}: no screenshot")
        return
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    nonwhite = np.mean(np.abs(img - 255).sum(2) > 30)
    colors = {"blue": (0x4a, 0x78, 0xb8), "orange": (0xe0, 0x7b, 0x39), "green": (0x2c, 0xa0, 0x2c)}
    present = {k: int((np.abs(img - np.array(v)).sum(2) < 12).sum()) for k, v in colors.items()}
    print(f"  {name}: {len(parser.charts)} charts ({len(hist)} histograms, {len(weights)} weight "
          f"charts), screenshot {nonwhite * 100:.1f}% non-white, pixels {present}")
    if nonwhite < 0.03 or min(present.values()) < 200:
        problems.append(f"{name}: the screenshot looks blank ({nonwhite:.3f}, {present})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--amct", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--chromium", default="chromium")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    problems = []
    for model in ["cnn_bn", "cnn_dw"]:
        check(args, MODELS / f"{model}.onnx", work, problems)
    for p in problems:
        print("FAIL:", p)
    print("report-in-browser:", "FAILED" if problems else "passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
