#!/usr/bin/python3
"""Test models for channel-pruning exactness, exported from torch.

    make_prune_models.py OUT_DIR

Each model's prunable layers have exactly half of their output filters
(and the biases, BatchNormalization shifts and depthwise filters that go
with them) set to zero, the same channels across a residual group, so
pruning at ratio 0.5 removes only channels that are zero everywhere: the
pruned model must compute the original's outputs. Topologies: residual
(Conv-BN-ReLU with an Add), depthwise separable, Concat of two branches,
Flatten -> Linear, a transformer MLP (Linear-GELU-Linear) and a
ConvTranspose decoder. Writes OUT_DIR/<name>.onnx and <name>.input.npy.
"""
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn


def zero_channels(layer, channels, bn=None, axis=0):
    """Zero the output filters `channels` of a Conv / Linear (its bias and
    the following BN's mean and shift too)."""
    with torch.no_grad():
        w = layer.weight
        index = [slice(None)] * w.dim()
        index[axis] = channels
        w[tuple(index)] = 0
        if layer.bias is not None:
            layer.bias[channels] = 0
        if bn is not None:
            bn.running_mean[channels] = 0
            bn.bias[channels] = 0


def randomize_bn(bn, g):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.num_features, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(bn.num_features, generator=g) * 0.1)
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=g) * 0.1)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=g) + 0.5)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(16)
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.head = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        x = torch.relu(self.bn0(self.stem(x)))
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.head(torch.relu(x + y)).mean((2, 3))

    def sparsify(self):
        even = list(range(0, 16, 2))
        zero_channels(self.stem, even, self.bn0)
        zero_channels(self.conv2, even, self.bn2)
        zero_channels(self.conv1, list(range(16, 32)), self.bn1)


class Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.pw1 = nn.Conv2d(3, 32, 1)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.bn = nn.BatchNorm2d(32)
        self.pw2 = nn.Conv2d(32, 8, 1)

    def forward(self, x):
        x = torch.nn.functional.relu6(self.pw1(x))
        x = torch.nn.functional.relu6(self.bn(self.dw(x)))
        return self.pw2(x)

    def sparsify(self):
        channels = list(range(1, 32, 2))
        zero_channels(self.pw1, channels)
        zero_channels(self.dw, channels, self.bn)


class ConcatNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.b = nn.Conv2d(3, 32, 1)
        self.fuse = nn.Conv2d(16 + 32 + 3, 8, 3, padding=1)

    def forward(self, x):
        return self.fuse(torch.cat([torch.relu(self.a(x)), x, torch.sigmoid(self.b(x)) * 2 - 1],
                                   1))

    def sparsify(self):
        zero_channels(self.a, list(range(8)))
        zero_channels(self.b, list(range(0, 32, 2)))


class FlattenLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc2(torch.relu(self.fc1(x)))

    def sparsify(self):
        zero_channels(self.conv, list(range(3, 16, 2)) + [0], self.bn)
        zero_channels(self.fc1, list(range(32, 64)))


class TransformerMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(32)
        self.up = nn.Linear(32, 128)
        self.down = nn.Linear(128, 32)

    def forward(self, x):
        return x + self.down(torch.nn.functional.gelu(self.up(self.norm(x))))

    def sparsify(self):
        zero_channels(self.up, list(range(0, 128, 2)))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, padding=1)
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.out = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        return self.out(torch.relu(self.up(torch.relu(self.conv(x)))))

    def sparsify(self):
        zero_channels(self.conv, list(range(16)))
        zero_channels(self.up, list(range(8, 16)), axis=1)


MODELS = {
    "residual": (Residual, (2, 3, 8, 8)),
    "depthwise": (Depthwise, (2, 3, 8, 8)),
    "concat": (ConcatNet, (2, 3, 8, 8)),
    "flatten_linear": (FlattenLinear, (2, 3, 8, 8)),
    "transformer_mlp": (TransformerMlp, (2, 5, 32)),
    "decoder": (Decoder, (2, 3, 6, 6)),
}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, (cls, shape) in MODELS.items():
        g = torch.Generator().manual_seed(7)
        torch.manual_seed(7)
        model = cls().eval()
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                randomize_bn(m, g)
        model.sparsify()
        x = torch.randn(*shape, generator=g)
        torch.onnx.export(model, x, out / f"{name}.onnx", input_names=["input"],
                          output_names=["output"], opset_version=17,
                          do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        np.save(out / f"{name}.input.npy", x.numpy())


if __name__ == "__main__":
    main()
