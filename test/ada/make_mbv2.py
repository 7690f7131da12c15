#!/usr/bin/python3
"""A trained MobileNetV2-style CNN for the ADA rounding tests and benchmark.

    /usr/bin/python3 test/ada/make_mbv2.py [OUT_DIR]   (default: this folder)

Inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 project, ReLU6,
residual Adds where shapes allow), ~300 k parameters, trained on
scikit-learn's digits (upsampled to 16x16, the split of
test/models/make_models.py). Writes mbv2.onnx (opset 13, BatchNormalization
kept), mbv2.calib.npy (64 training images), mbv2.eval.npy and
mbv2.eval_labels.npy (the 360 held-out images). Deterministic (one thread,
fixed seeds); about a minute on one core.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "models"))
import make_models as mm  # noqa: E402


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [mm.conv_bn(cin, hidden, k=1, act=nn.ReLU6)]
        layers += [mm.conv_bn(hidden, hidden, s=stride, groups=hidden, act=nn.ReLU6),
                   mm.conv_bn(hidden, cout, k=1, act=None)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV2ish(nn.Module):
    # (expand, out channels, repeats, first stride), MobileNetV2's table cut
    # to a 16x16 input.
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1), (6, 96, 2, 1)]

    def __init__(self):
        super().__init__()
        layers = [mm.conv_bn(1, 16, s=1, act=nn.ReLU6)]
        cin = 16
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(mm.conv_bn(cin, 320, k=1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    mm.seed_all(0)
    (xtr, ytr), (xte, yte) = mm.digits_split()
    xtr, xte = mm.up16(xtr), mm.up16(xte)
    model = MobileNetV2ish()
    params = sum(p.numel() for p in model.parameters())
    mm.train_tensor(model, (xtr, ytr), epochs=30, lr=4e-3)
    acc = mm.accuracy(model, xte, yte)
    mm.export(model, xte[:1], str(out / "mbv2.onnx"))
    np.save(out / "mbv2.calib.npy", xtr[:64].numpy())
    np.save(out / "mbv2.eval.npy", xte.numpy())
    np.save(out / "mbv2.eval_labels.npy", yte.numpy())
    print(f"mbv2: {params} parameters, held-out accuracy {acc * 100:.1f}% (n={len(yte)})")


if __name__ == "__main__":
    main()
