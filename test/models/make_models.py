#!/usr/bin/python3
"""Trains and exports amct-mlir's small, real test models (and benchmark models).

Default run (writes the committed test models next to this script):
    /usr/bin/python3 test/models/make_models.py [--out-dir DIR] [--only NAME ...]

For every model NAME it writes
    NAME.onnx                      opset 13 (transformer_op17: opset 17), dim 0 of
                                   every input/output is the symbolic dim "batch"
    NAME.inputs/<input name>.npy   64 held-out test samples (float32 / int64 ids)
    NAME.labels.npy                their int64 labels
and finally README.md with the summary table.

Benchmark models (random, seeded weights; large, NOT committed):
    --resnet-bench OUT.onnx       ResNet-18 shape, 1x3x224x224, opset 13
    --mobilenet-bench OUT.onnx    MobileNetV2 shape, 1x3x224x224, opset 13
    --lstm-bench OUT.onnx         2-layer bidirectional LSTM, hidden 256, batch x 128 x 256
    --big OUT.onnx                ResNet-50 shape (~100 MB), for import/export speed

Design notes (the "why"):
  * Data comes only from Debian packages (no network): scikit-learn's bundled
    digits set and the Python 3.11 standard-library sources.
  * Everything is seeded and torch runs on one thread, so re-running reproduces the
    same weights and therefore byte-identical .onnx files.
  * Export uses training=TrainingMode.PRESERVE on an eval() model.  With the default
    TrainingMode.EVAL, torch 1.13 runs an "eval peephole" pass that folds BN into the
    preceding Conv even with do_constant_folding=False; PRESERVE skips that pass, so
    BatchNormalization stays a node for the compiler to fold itself.
  * Each export is checked with onnx.checker (full_check: strict shape inference),
    for its expected op types, and by re-running torch on the saved .npy inputs.
"""

import argparse
import glob
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)  # a C++ build shares the machine; also helps determinism

HERE = os.path.dirname(os.path.abspath(__file__))
N_SAVED = 64       # held-out samples saved next to each model
MAX_BYTES = 1 << 20  # committed models must stay under 1 MB
PRESERVE = torch.onnx.TrainingMode.PRESERVE


def seed_all(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


# ----------------------------------------------------------------------------- data

def digits_split():
    """sklearn digits (1797 8x8 images, 0..16) -> [0,1] floats, fixed 80/20 split."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]  # N,1,8,8
    y = torch.from_numpy(d.target.astype(np.int64))
    perm = torch.from_numpy(np.random.RandomState(0).permutation(len(y)))
    n_test = 360
    te, tr = perm[:n_test], perm[n_test:]
    return (x[tr], y[tr]), (x[te], y[te])


def up16(x):
    """8x8 -> 16x16 bilinear, so the CNNs have room for several downsamplings."""
    return F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)


def polyphase(x16):
    """N,1,16,16 -> N,1,4,8,8: the four 2x2 polyphase components as a depth axis
    (a volume with real spatial structure for the Conv3d model)."""
    return torch.stack([x16[:, 0, i::2, j::2] for i in (0, 1) for j in (0, 1)], 1)[:, None]


TEXT_FILES = ["argparse", "tarfile", "typing", "datetime"]  # the 4 classes
SEQ = 32
VOCAB = 128  # ASCII; anything else maps to 0


def text_split(n_test_per_class=250):
    """Char ids of 4 stdlib modules.  The first 80% of each file is for training,
    the last 20% for test, so test snippets never overlap training text."""
    train, test_x, test_y = [], [], []
    rng = np.random.RandomState(1)
    for label, mod in enumerate(TEXT_FILES):
        raw = np.frombuffer(open(f"/usr/lib/python3.11/{mod}.py", "rb").read(), np.uint8)
        ids = np.where(raw < VOCAB, raw, 0).astype(np.int64)
        cut = int(len(ids) * 0.8)
        train.append(torch.from_numpy(ids[:cut]))
        starts = rng.randint(0, len(ids) - cut - SEQ, n_test_per_class) + cut
        test_x += [ids[s:s + SEQ] for s in starts]
        test_y += [label] * n_test_per_class
    order = rng.permutation(len(test_y))  # mix classes so the first 64 are varied
    return train, (torch.from_numpy(np.stack(test_x)[order]),
                   torch.from_numpy(np.array(test_y, np.int64)[order]))


def text_batch(train, gen, n):
    labels = torch.randint(0, len(train), (n,), generator=gen)
    rows = []
    for c in labels.tolist():
        s = torch.randint(0, len(train[c]) - SEQ, (1,), generator=gen).item()
        rows.append(train[c][s:s + SEQ])
    return torch.stack(rows), labels


# --------------------------------------------------------------------------- models

def conv_bn(cin, cout, k=3, s=1, groups=1, act=nn.ReLU):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, act()) if act else nn.Sequential(*layers)


class CnnBn(nn.Module):
    """Conv-BN-ReLU, a residual Add block, MaxPool, AveragePool, GAP, Flatten, Gemm."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(1, 16)
        self.res_a = conv_bn(16, 16)
        self.res_b = conv_bn(16, 16, act=None)
        self.maxpool = nn.MaxPool2d(2)              # 16 -> 8
        self.conv2 = conv_bn(16, 32)
        # count_include_pad=False: same math at padding 0, but torch 1.13 then emits
        # a plain AveragePool instead of an all-zero Pad + AveragePool.
        self.avgpool = nn.AvgPool2d(2, count_include_pad=False)  # 8 -> 4
        self.conv3 = conv_bn(32, 32)
        self.gap = nn.AdaptiveAvgPool2d(1)          # -> GlobalAveragePool
        self.fc = nn.Linear(32, 10)                 # -> Gemm

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(x + self.res_b(self.res_a(x)))
        x = self.conv3(self.avgpool(self.conv2(self.maxpool(x))))
        return self.fc(torch.flatten(self.gap(x), 1))


class CnnDw(nn.Module):
    """MobileNet-style depthwise/pointwise with ReLU6 (Clip), then a ConvTranspose
    (stride 2) + BN decoder stage back to full resolution, pooled, Linear head."""

    def __init__(self):
        super().__init__()
        r6 = nn.ReLU6
        self.stem = conv_bn(1, 16, act=r6)
        self.dw1 = conv_bn(16, 16, groups=16, act=r6)
        self.pw1 = conv_bn(16, 32, k=1, act=r6)
        self.dw2 = conv_bn(32, 32, s=2, groups=32, act=r6)   # 16 -> 8
        self.pw2 = conv_bn(32, 48, k=1, act=r6)
        self.up = nn.Sequential(nn.ConvTranspose2d(48, 24, 4, stride=2, padding=1, bias=False),
                                nn.BatchNorm2d(24), r6())     # 8 -> 16
        self.pw3 = conv_bn(24, 32, k=1, act=r6)
        self.pool = nn.AdaptiveAvgPool2d(2)                   # -> AveragePool-like
        self.fc = nn.Linear(32 * 4, 10)

    def forward(self, x):
        x = self.pw2(self.dw2(self.pw1(self.dw1(self.stem(x)))))
        x = self.pw3(self.up(x))
        return self.fc(torch.flatten(self.pool(x), 1))


class Cnn1d(nn.Module):
    """Conv1d+BN on digits as 8 channels (rows) x length 8 (columns)."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv1d(8, 32, 3, padding=1, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
            nn.Conv1d(32, 32, 3, padding=1, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
            nn.MaxPool1d(2))
        self.fc = nn.Linear(32 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.f(x), 1))


class Cnn3d(nn.Module):
    """Conv3d+BN on the 1x4x8x8 polyphase volume of the upsampled digit."""

    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(
            nn.Conv3d(1, 8, 3, padding=1, bias=False), nn.BatchNorm3d(8), nn.ReLU(),
            nn.MaxPool3d(2),                                          # 4x8x8 -> 2x4x4
            nn.Conv3d(8, 16, 3, padding=1, bias=False), nn.BatchNorm3d(16), nn.ReLU())
        self.fc = nn.Linear(16 * 2 * 4 * 4, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.f(x), 1))


class MatMulLinear(nn.Module):
    """x @ W + b with an explicit [in, out] weight: exports as MatMul + Add, not Gemm."""

    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cin, cout) * (2.0 / cin) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return torch.matmul(x, self.weight) + self.bias


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(MatMulLinear(64, 128), nn.GELU(),   # exact GELU -> Erf
                               MatMulLinear(128, 64), nn.GELU(),
                               MatMulLinear(64, 10))

    def forward(self, x):
        return self.f(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention spelled out with MatMul/Softmax/Transpose/Reshape.
    Reshapes use -1 for the batch dim so the graph stays batch-polymorphic."""

    def __init__(self, d, heads):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def split(self, t):  # B,T,D -> B,H,T,Dh
        return t.reshape(-1, SEQ, self.h, self.dh).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / self.dh ** 0.5, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(-1, SEQ, self.h * self.dh)
        return self.o(y)


class Block(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = SelfAttention(d, heads)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ff(self.ln2(x))


class Transformer(nn.Module):
    """Char-level pre-LN encoder: Gather embedding + learned positions, 2 blocks,
    mean-pool over tokens, Linear head -> which stdlib module a snippet is from."""

    def __init__(self, d=64, heads=4, ff=128, layers=2, classes=len(TEXT_FILES)):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Parameter(torch.randn(1, SEQ, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, heads, ff) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.blocks(self.emb(ids) + self.pos)
        return self.head(self.ln(x).mean(dim=1))


# ------------------------------------------------------------------------- training

def accuracy(model, x, y, bs=256):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + bs]).argmax(1) for i in range(0, len(x), bs)])
    return (pred == y).float().mean().item()


def train_tensor(model, train, epochs, lr, bs=64, seed=0):
    """Adam + cosine LR over shuffled mini-batches of an in-memory data set."""
    x, y = train
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def train_text(model, train, steps, lr, bs=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    model.train()
    for _ in range(steps):
        xb, yb = text_batch(train, gen, bs)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


# --------------------------------------------------------------------------- export

def export(model, example, path, opset=13, input_name="input"):
    model.eval()
    torch.onnx.export(
        model, (example,), path, opset_version=opset, do_constant_folding=False,
        training=PRESERVE, input_names=[input_name], output_names=["logits"],
        dynamic_axes={input_name: {0: "batch"}, "logits": {0: "batch"}})


def op_types(m):
    return sorted({n.op_type for n in m.graph.node})


def check_export(name, path, must_have=(), must_not=()):
    """onnx.checker with strict shape inference, symbolic batch dim, expected ops."""
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    for vi in list(m.graph.input) + list(m.graph.output):
        assert vi.type.tensor_type.shape.dim[0].dim_param == "batch", (name, vi.name)
    ops = op_types(m)
    missing = [o for o in must_have if o not in ops]
    present = [o for o in must_not if o in ops]
    assert not missing and not present, f"{name}: missing ops {missing}, unexpected {present}"
    return m


def save_samples(out_dir, name, input_name, x, y):
    in_dir = os.path.join(out_dir, f"{name}.inputs")
    os.makedirs(in_dir, exist_ok=True)
    for f in glob.glob(os.path.join(in_dir, "*.npy")):
        os.remove(f)
    np.save(os.path.join(in_dir, f"{input_name}.npy"), x.numpy())
    np.save(os.path.join(out_dir, f"{name}.labels.npy"), y.numpy())


def finish(out_dir, name, model, example, test, must_have, must_not=(), opset=13,
           seconds=0.0, task=""):
    """Export + verify + save held-out samples; returns a summary row."""
    path = os.path.join(out_dir, f"{name}.onnx")
    export(model, example, path, opset)
    m = check_export(name, path, must_have, must_not)
    size = os.path.getsize(path)
    assert size < MAX_BYTES, f"{name}: {size} bytes >= 1 MB"

    x, y = test
    save_samples(out_dir, name, "input", x[:N_SAVED], y[:N_SAVED])
    # Re-read the saved samples so the reported number is what a consumer sees.
    xs = torch.from_numpy(np.load(os.path.join(out_dir, f"{name}.inputs", "input.npy")))
    ys = torch.from_numpy(np.load(os.path.join(out_dir, f"{name}.labels.npy")))
    assert xs.dtype == x.dtype and ys.dtype == torch.int64
    row = dict(name=name, ops=op_types(m), opset=opset, size=size, task=task,
               params=sum(p.numel() for p in model.parameters()),
               in_shape=list(xs.shape), in_dtype=str(xs.numpy().dtype),
               acc=accuracy(model, x, y), n_test=len(y), acc64=accuracy(model, xs, ys),
               seconds=seconds)
    print(f"  {name:16s} acc={row['acc']:.4f} (n={len(y)})  acc64={row['acc64']:.4f}  "
          f"params={row['params']}  size={size}  train={seconds:.1f}s", flush=True)
    return row


# ---------------------------------------------------------------------------- build

def build_test_models(out_dir, only):
    rows = []
    want = lambda n: not only or n in only  # noqa: E731
    (xtr, ytr), (xte, yte) = digits_split()
    x16tr, x16te = up16(xtr), up16(xte)
    digits_task = "sklearn digits, 10 classes"

    cnn_specs = [
        # name, ctor, train x, test x, must-have ops, epochs, lr
        ("cnn_bn", CnnBn, x16tr, x16te,
         ["Conv", "BatchNormalization", "Relu", "Add", "MaxPool", "AveragePool",
          "GlobalAveragePool", "Flatten", "Gemm"], 20, 1e-2),
        ("cnn_dw", CnnDw, x16tr, x16te,
         ["Conv", "BatchNormalization", "Clip", "ConvTranspose", "Gemm"], 20, 1e-2),
        ("cnn_1d", Cnn1d, xtr[:, 0], xte[:, 0],
         ["Conv", "BatchNormalization", "MaxPool", "Gemm"], 30, 1e-2),
        ("cnn_3d", Cnn3d, polyphase(x16tr), polyphase(x16te),
         ["Conv", "BatchNormalization", "MaxPool", "Gemm"], 20, 1e-2),
    ]
    for name, ctor, trx, tex, ops, epochs, lr in cnn_specs:
        if not want(name):
            continue
        seed_all(0)
        t0 = time.time()
        model = train_tensor(ctor(), (trx, ytr), epochs, lr)
        rows.append(finish(out_dir, name, model, tex[:1], (tex, yte), ops,
                           seconds=time.time() - t0, task=digits_task))

    if want("mlp"):
        seed_all(0)
        t0 = time.time()
        ftr, fte = xtr.flatten(1), xte.flatten(1)
        model = train_tensor(Mlp(), (ftr, ytr), 40, 3e-3)
        rows.append(finish(out_dir, "mlp", model, fte[:1], (fte, yte),
                           ["MatMul", "Add", "Erf"], must_not=["Gemm"],
                           seconds=time.time() - t0, task=digits_task))

    if want("transformer") or want("transformer_op17"):
        seed_all(0)
        train, test = text_split()
        t0 = time.time()
        model = train_text(Transformer(), train, steps=1500, lr=2e-3)
        secs = time.time() - t0
        task = "32-char snippet -> stdlib module (" + "/".join(TEXT_FILES) + ")"
        common = ["Gather", "MatMul", "Softmax", "Transpose", "Reshape", "Erf", "ReduceMean"]
        if want("transformer"):
            rows.append(finish(out_dir, "transformer", model, test[0][:1], test,
                               common + ["Pow", "Sqrt", "Div"],
                               must_not=["LayerNormalization"], seconds=secs, task=task))
        if want("transformer_op17"):
            rows.append(finish(out_dir, "transformer_op17", model, test[0][:1], test,
                               common + ["LayerNormalization"], opset=17,
                               seconds=secs, task=task))
    return rows


README_HEAD = """\
# Test models

Small models trained for real (not random weights) so quantization accuracy can be
checked end to end.  Generated by `make_models.py`; do not edit by hand.

Regenerate everything (deterministic: byte-identical output; ~2 min on one core):

    /usr/bin/python3 test/models/make_models.py

or one model: `/usr/bin/python3 test/models/make_models.py --only cnn_bn`.

Per model `NAME`:

* `NAME.onnx`: ONNX, opset 13 unless noted, exported by torch {torch} with
  `do_constant_folding=False` and `TrainingMode.PRESERVE` (BatchNormalization stays a
  node).  Input `input`, output `logits`; dim 0 of both is the symbolic dim `batch`.
* `NAME.inputs/input.npy`: the first 64 samples of the held-out test split
  (float32 NCHW, or int64 token ids for the transformers).
* `NAME.labels.npy`: their int64 labels.  The model's argmax over `logits` scores
  "acc (64 saved)" on them.

Data: digits = scikit-learn's bundled 8x8 digits (1797 images, values /16, fixed
seeded 80/20 split; CNNs see them bilinearly upsampled to 16x16; `cnn_1d` sees
rows as 8 channels of length 8; `cnn_3d` sees the four 2x2 polyphase components of
the 16x16 image as a 4x8x8 volume; `mlp` sees 64 flat features).  Text = 32-character
windows of `/usr/lib/python3.11/{{{files}}}.py`
(ASCII ids, anything else -> 0); the first 80% of each file trains, the last 20% is
test.  Chance there is 25%; a character 1-4-gram naive Bayes reaches ~79% on the
same split, so the tiny transformer (~60%) is genuinely trained but far from
saturated - quantization damage shows up clearly in its accuracy.

| model | task | input | params | test acc | acc (64 saved) | size | ops in graph |
|---|---|---|---:|---:|---:|---:|---|
"""

README_TAIL = """
Benchmark models (random seeded weights, BatchNormalization kept, 1x3x224x224 with
dynamic batch, opset 13; large, so NOT committed):

    /usr/bin/python3 test/models/make_models.py --resnet-bench /tmp/resnet18.onnx     # ~45 MB
    /usr/bin/python3 test/models/make_models.py --mobilenet-bench /tmp/mobilenetv2.onnx  # ~14 MB
    /usr/bin/python3 test/models/make_models.py --big /tmp/resnet50.onnx              # ~100 MB

Their BN statistics are calibrated on seeded random inputs so activations stay in a
sane range through the whole network.

Graph notes: `cnn_dw`'s ReLU6 is `Clip` with min/max as `Constant` inputs and its
`AdaptiveAvgPool2d(2)` is an `AveragePool` (kernel 8, stride 8); the opset-13
`transformer` spells LayerNorm as ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add,
`transformer_op17` uses `LayerNormalization`; both spell GELU as Div/Erf/Add/Mul/Mul
and apply `Linear` on 3-D activations as Transpose(weight initializer) + MatMul + Add
(constant folding is off, so the weight transpose stays in the graph; only the 2-D
head is `Gemm`).
All exports were also run with onnxruntime 1.30 (batch 64 and batch 1) and give the
same "acc (64 saved)" as torch.
"""


def write_readme(out_dir, rows):
    text = README_HEAD.format(torch=torch.__version__, files=",".join(TEXT_FILES))
    for r in rows:
        name = r["name"] + (f" (opset {r['opset']})" if r["opset"] != 13 else "")
        shape = "x".join(["batch"] + [str(d) for d in r["in_shape"][1:]])
        text += (f"| `{name}` | {r['task']} | {r['in_dtype']} {shape} | {r['params']:,} "
                 f"| {100 * r['acc']:.1f}% (n={r['n_test']}) | {100 * r['acc64']:.1f}% "
                 f"| {r['size'] / 1024:.0f} KB | {', '.join(r['ops'])} |\n")
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(text + README_TAIL)


# ------------------------------------------------------------------ benchmark models

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, c, stride):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, c, 3, stride), conv_bn(c, c, 3, act=None))
        self.down = (conv_bn(cin, c, 1, stride, act=None)
                     if stride != 1 or cin != c else nn.Identity())

    def forward(self, x):
        return F.relu(self.body(x) + self.down(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, c, stride):
        super().__init__()
        cout = c * 4
        self.body = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, c, 3, stride),
                                  conv_bn(c, cout, 1, act=None))
        self.down = (conv_bn(cin, cout, 1, stride, act=None)
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return F.relu(self.body(x) + self.down(x))


class ResNet(nn.Module):
    """torchvision-compatible ResNet layout, written out so torchvision isn't needed."""

    def __init__(self, block, layers, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for i, n in enumerate(layers):
            c = 64 << i
            for j in range(n):
                stages.append(block(cin, c, 2 if j == 0 and i > 0 else 1))
                cin = c * block.expansion
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hid = cin * t
        layers = [conv_bn(cin, hid, 1, act=nn.ReLU6)] if t != 1 else []
        layers += [conv_bn(hid, hid, 3, stride, groups=hid, act=nn.ReLU6),
                   conv_bn(hid, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


class MobileNetV2(nn.Module):
    CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]  # t, c, n, s

    def __init__(self, classes=1000):
        super().__init__()
        layers, cin = [conv_bn(3, 32, 3, 2, act=nn.ReLU6)], 32
        for t, c, n, s in self.CFG:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(conv_bn(cin, 1280, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(1280, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def randomize_and_calibrate(model, seed):
    """Seeded random weights with non-trivial BN: random gamma/beta, and running
    statistics measured on random inputs (cumulative average) so that activations
    neither explode nor vanish in the deep random network."""
    seed_all(seed)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.normal_(m.bias, 0.0, 0.01)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, 224, 224))
    return model.eval()


def export_bench(model, path, seed):
    t0 = time.time()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    randomize_and_calibrate(model, seed)
    export(model, torch.randn(1, 3, 224, 224), path)
    m = onnx.load(path)
    onnx.checker.check_model(m)  # not full_check: shape inference on 100 MB is slow
    n_bn = sum(n.op_type == "BatchNormalization" for n in m.graph.node)
    print(f"{path}: {os.path.getsize(path) / 2**20:.1f} MB, "
          f"{sum(p.numel() for p in model.parameters()):,} params, {n_bn} BatchNormalization, "
          f"{time.time() - t0:.1f}s")


class LstmBench(nn.Module):
    """The recurrent benchmark: 2-layer bidirectional LSTM, hidden 256."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(256, 256, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


def export_lstm_bench(path):
    torch.manual_seed(256)
    model = LstmBench().eval()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.onnx.export(model, torch.randn(1, 128, 256), path, opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))
    print(f"{path}: {os.path.getsize(path) / 2**20:.1f} MB")


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=HERE, help="where the test models go")
    ap.add_argument("--only", nargs="*", default=[], help="build only these test models")
    ap.add_argument("--resnet-bench", metavar="OUT.onnx", help="random ResNet-18")
    ap.add_argument("--mobilenet-bench", metavar="OUT.onnx", help="random MobileNetV2")
    ap.add_argument("--big", metavar="OUT.onnx", help="random ResNet-50 (~100 MB)")
    ap.add_argument("--lstm-bench", metavar="OUT.onnx", help="random 2-layer bidirectional LSTM")
    args = ap.parse_args()

    bench = False
    if args.resnet_bench:
        export_bench(ResNet(BasicBlock, [2, 2, 2, 2]), args.resnet_bench, seed=18)
        bench = True
    if args.mobilenet_bench:
        export_bench(MobileNetV2(), args.mobilenet_bench, seed=2)
        bench = True
    if args.big:
        export_bench(ResNet(Bottleneck, [3, 4, 6, 3]), args.big, seed=50)
        bench = True
    if args.lstm_bench:
        export_lstm_bench(args.lstm_bench)
        bench = True
    if bench:
        return

    os.makedirs(args.out_dir, exist_ok=True)
    print(f"training test models into {args.out_dir} (torch {torch.__version__}, "
          f"onnx {onnx.__version__})", flush=True)
    rows = build_test_models(args.out_dir, set(args.only))
    if not args.only:
        write_readme(args.out_dir, rows)
    print("\nsummary:")
    for r in rows:
        print(f"  {r['name']:16s} opset {r['opset']:2d}  acc {100 * r['acc']:5.1f}%  "
              f"acc64 {100 * r['acc64']:5.1f}%  {r['size']:7d} B  ops: {' '.join(r['ops'])}")


if __name__ == "__main__":
    sys.exit(main())
