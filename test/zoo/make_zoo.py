#!/usr/bin/python3
"""Public architectures with random weights, exported to ONNX for the zoo test.

Models from the wild are what users bring: this script makes a broad set of
them with Debian's torch 1.13 and torchvision 0.14 so that test/zoo/zoo_test.py
can run each on the executor and the quantizer and judge the results with ONNX
Runtime. Weights are random (seeded): coverage of ops, shapes and opsets, not
accuracy. Families: torchvision classifiers, segmenters and a detector;
recurrent, audio, video, style-transfer and super-resolution models; and
language-model blocks written the way GPT-2, Llama (with a KV cache), BERT, T5
and Whisper export. Opsets 13 to 17.

    /usr/bin/python3 test/zoo/make_zoo.py --out DIR [--filter REGEX] [--list]

For each model NAME: DIR/NAME.onnx, DIR/NAME.inputs/<input>.npy (the batch
compared with ORT), DIR/NAME.calib/<input>.npy (a calibration batch), and
DIR/manifest.json (name, family, opset, inputs, outputs). A model whose
DIR/NAME.stamp holds this script's hash is not made again.
"""

import argparse
import hashlib
import json
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def img(*shape):
    return lambda rng, b: {"input": rng.standard_normal((b, *shape)).astype(np.float32)}


# --------------------------------------------------------------------- vision

def tv(name, **kw):
    def build():
        import torchvision.models as m
        return getattr(m, name)(weights=None, **kw)
    return build


def vit():
    from torchvision.models import VisionTransformer
    return VisionTransformer(image_size=64, patch_size=16, num_layers=2, num_heads=4,
                             hidden_dim=64, mlp_dim=128, num_classes=10)


def swin():
    from torchvision.models import SwinTransformer
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4],
                           window_size=[4, 4], num_classes=10)


def seg(name):
    def build():
        import torchvision.models.segmentation as s
        kw = dict(weights=None, weights_backbone=None, num_classes=5)
        if name != "lraspp_mobilenet_v3_large":
            kw["aux_loss"] = False
        model = getattr(s, name)(**kw)

        class Out(nn.Module):  # the dict output as a tensor
            def __init__(self):
                super().__init__()
                self.m = model

            def forward(self, x):
                return self.m(x)["out"]
        return Out()
    return build


class SsdLite(nn.Module):
    """torchvision's SSDlite detector on one [3, H, W] image: anchors, box
    decoding, score thresholds, per-class NMS (an If around
    NonMaxSuppression), top-k."""

    def __init__(self):
        super().__init__()
        import torchvision.models.detection as d
        self.m = d.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None,
                                                 num_classes=5)

    def forward(self, image):
        r = self.m([image])[0]
        return r["boxes"], r["scores"], r["labels"]


class UNet(nn.Module):
    """A small UNet whose decoder upsamples with nn.Upsample (Resize)."""

    def __init__(self, mode):
        super().__init__()
        c = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())
        self.e1, self.e2, self.e3 = c(3, 8), c(8, 16), c(16, 32)
        self.up = nn.Upsample(scale_factor=2, mode=mode,
                              **({} if mode == "nearest" else {"align_corners": False}))
        self.d2, self.d1 = c(32 + 16, 16), c(16 + 8, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(F.max_pool2d(a, 2))
        c = self.e3(F.max_pool2d(b, 2))
        d = self.d2(torch.cat([self.up(c), b], 1))
        return self.head(self.d1(torch.cat([self.up(d), a], 1)))


class StyleTransfer(nn.Module):
    """fast-neural-style: reflection padding, InstanceNorm, residual blocks,
    nearest upsampling."""

    def __init__(self):
        super().__init__()

        def conv(i, o, k, s=1):
            return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, s),
                                 nn.InstanceNorm2d(o, affine=True), nn.ReLU())
        self.down = nn.Sequential(conv(3, 8, 9), conv(8, 16, 3, 2), conv(16, 32, 3, 2))
        self.res = nn.ModuleList([nn.Sequential(conv(32, 32, 3), nn.ReflectionPad2d(1),
                                                nn.Conv2d(32, 32, 3),
                                                nn.InstanceNorm2d(32, affine=True))
                                  for _ in range(2)])
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv(32, 16, 3),
                                nn.Upsample(scale_factor=2, mode="nearest"), conv(16, 8, 3),
                                nn.ReflectionPad2d(4), nn.Conv2d(8, 3, 9))

    def forward(self, x):
        y = self.down(x)
        for r in self.res:
            y = y + r(y)
        return torch.tanh(self.up(y))


class Espcn(nn.Module):
    def __init__(self, r=3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.Tanh(),
                                  nn.Conv2d(16, 8, 3, padding=1), nn.Tanh(),
                                  nn.Conv2d(8, r * r, 3, padding=1))
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x):
        return torch.sigmoid(self.shuffle(self.body(x)))


class Conv1dAudio(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv1d(1, 8, 9, stride=2), nn.BatchNorm1d(8), nn.ReLU(),
                               nn.MaxPool1d(2), nn.Conv1d(8, 16, 5, padding=2),
                               nn.BatchNorm1d(16), nn.ReLU(), nn.AdaptiveAvgPool1d(1))
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        return self.fc(self.f(x).flatten(1))


class Conv3dVideo(nn.Module):
    def __init__(self):
        super().__init__()
        self.f = nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU(),
                               nn.MaxPool3d(2), nn.Conv3d(8, 16, 3, padding=1),
                               nn.BatchNorm3d(16), nn.ReLU(), nn.AdaptiveAvgPool3d(1))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.f(x).flatten(1))


# ------------------------------------------------------------------ recurrent

class TextLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.rnn = nn.LSTM(32, 32, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(64, 4)

    def forward(self, ids):
        y, _ = self.rnn(self.emb(ids))
        return self.fc(y[:, -1])


class SpeechGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(40, 48, num_layers=2, batch_first=True)
        self.fc = nn.Linear(48, 10)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


class PlainRnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(12, 24, batch_first=False, nonlinearity="relu")
        self.fc = nn.Linear(24, 3)

    def forward(self, x):
        y, h = self.rnn(x)
        return self.fc(h[-1])


def tokens(seq, vocab=100):
    return lambda rng, b: {"ids": rng.integers(0, vocab, (b, seq), dtype=np.int64)}


# ---------------------------------------------------------- language models

D, HEADS, VOCAB, SEQ = 64, 4, 100, 8


def attention(q, k, v, mask=None):
    w = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        w = w + mask
    return torch.softmax(w, -1) @ v


def split_heads(x, heads):
    b, t, d = x.shape
    return x.view(b, t, heads, d // heads).transpose(1, 2)


def merge_heads(x):
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


class Gpt2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        # GPT-2's Conv1D: x @ W + b with W [in, out].
        self.attn_w = nn.Parameter(torch.randn(D, 3 * D) * 0.02)
        self.attn_b = nn.Parameter(torch.zeros(3 * D))
        self.proj = nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x):
        t = x.shape[1]
        q, k, v = (self.ln1(x) @ self.attn_w + self.attn_b).split(D, dim=-1)
        # GreaterOrEqual on positions (Trilu needs opset 14; llama uses it).
        causal = torch.arange(t)[:, None] >= torch.arange(t)[None, :]
        mask = torch.where(causal, torch.zeros(()), torch.full((), -1e9))
        x = x + self.proj(merge_heads(attention(split_heads(q, HEADS), split_heads(k, HEADS),
                                                split_heads(v, HEADS), mask)))
        h = self.fc(self.ln2(x))
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        return x + self.out(h)


class Gpt2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, D), nn.Embedding(32, D)
        self.blocks = nn.ModuleList([Gpt2Block() for _ in range(2)])
        self.ln = nn.LayerNorm(D)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        for b in self.blocks:
            x = b(x)
        return self.ln(x) @ self.wte.weight.t()  # tied head


class RmsNorm(nn.Module):
    def __init__(self, d, mean=True):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class LlamaBlock(nn.Module):
    def __init__(self, kv_heads=2):
        super().__init__()
        self.hd, self.kv = D // HEADS, kv_heads
        self.n1, self.n2 = RmsNorm(D), RmsNorm(D)
        self.q = nn.Linear(D, D, bias=False)
        self.k = nn.Linear(D, kv_heads * self.hd, bias=False)
        self.v = nn.Linear(D, kv_heads * self.hd, bias=False)
        self.o = nn.Linear(D, D, bias=False)
        self.gate, self.up = nn.Linear(D, 2 * D, bias=False), nn.Linear(D, 2 * D, bias=False)
        self.down = nn.Linear(2 * D, D, bias=False)

    def rope(self, x, pos):
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        f = pos.float().unsqueeze(-1) * inv
        emb = torch.cat([f, f], -1)
        return x * emb.cos() + rotate_half(x) * emb.sin()

    def forward(self, x, pos, past=None, mask=None):
        b, t, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(b, t, HEADS, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = self.rope(q, pos), self.rope(k, pos)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        present = (k, v)
        rep = HEADS // self.kv  # grouped-query attention: repeat_kv
        kk = k[:, :, None].expand(b, self.kv, rep, k.shape[2], self.hd).reshape(b, HEADS, -1, self.hd)
        vv = v[:, :, None].expand(b, self.kv, rep, v.shape[2], self.hd).reshape(b, HEADS, -1, self.hd)
        x = x + self.o(merge_heads(attention(q, kk, vv, mask)))
        h = self.n2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h)), present


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        self.blocks = nn.ModuleList([LlamaBlock() for _ in range(2)])
        self.norm, self.head = RmsNorm(D), nn.Linear(D, VOCAB, bias=False)

    def forward(self, ids):
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        mask = torch.triu(torch.full((t, t), float("-inf")), 1)
        x = self.emb(ids)
        for b in self.blocks:
            x, _ = b(x, pos, None, mask)
        return self.head(self.norm(x))


class LlamaKv(Llama):
    """One decoding step with a KV cache: past key/value in, present out."""

    def forward(self, ids, past_key, past_value, attention_mask):
        past_len = past_key.shape[3]
        t = ids.shape[1]
        pos = (torch.arange(t) + past_len).unsqueeze(0)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        x = self.emb(ids)
        presents = []
        for i, b in enumerate(self.blocks):
            x, (k, v) = b(x, pos, (past_key[i], past_value[i]), mask)
            presents += [k, v]
        return (self.head(self.norm(x)), torch.stack(presents[0::2]), torch.stack(presents[1::2]))


def llama_kv_inputs(rng, b):
    past = 6
    return {"ids": rng.integers(0, VOCAB, (b, 1), dtype=np.int64),
            "past_key": rng.standard_normal((2, b, 2, past, D // HEADS)).astype(np.float32),
            "past_value": rng.standard_normal((2, b, 2, past, D // HEADS)).astype(np.float32),
            "attention_mask": np.ones((b, past + 1), dtype=np.int64)}


class Bert(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(VOCAB, D), nn.Embedding(32, D), nn.Embedding(2, D)
        self.ln = nn.LayerNorm(D)
        self.layers = nn.ModuleList([nn.ModuleDict(dict(
            qkv=nn.Linear(D, 3 * D), o=nn.Linear(D, D), ln1=nn.LayerNorm(D),
            fc=nn.Linear(D, 4 * D), out=nn.Linear(4 * D, D), ln2=nn.LayerNorm(D)))
            for _ in range(2)])
        self.pool = nn.Linear(D, D)

    def forward(self, ids, attention_mask):
        t = ids.shape[1]
        x = self.ln(self.word(ids) + self.pos(torch.arange(t).unsqueeze(0)) +
                    self.typ(torch.zeros_like(ids)))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for l in self.layers:
            q, k, v = l["qkv"](x).split(D, -1)
            a = merge_heads(attention(split_heads(q, HEADS), split_heads(k, HEADS),
                                      split_heads(v, HEADS), mask))
            x = l["ln1"](x + l["o"](a))  # post-LN
            x = l["ln2"](x + l["out"](F.gelu(l["fc"](x))))
        return x, torch.tanh(self.pool(x[:, 0]))


def bert_inputs(rng, b):
    m = np.ones((b, SEQ), dtype=np.int64)
    m[:, -2:] = 0
    return {"ids": rng.integers(0, VOCAB, (b, SEQ), dtype=np.int64), "attention_mask": m}


class T5(nn.Module):
    """An encoder block and a decoder block with cross-attention; T5's
    RMSNorm without mean subtraction, relative position bias, ReLU FFN, no
    biases."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        lin = lambda i, o: nn.Linear(i, o, bias=False)
        self.enc = nn.ModuleDict(dict(n1=RmsNorm(D), qkv=lin(D, 3 * D), o=lin(D, D),
                                      n2=RmsNorm(D), wi=lin(D, 2 * D), wo=lin(2 * D, D)))
        self.dec = nn.ModuleDict(dict(n1=RmsNorm(D), qkv=lin(D, 3 * D), o=lin(D, D),
                                      n2=RmsNorm(D), q=lin(D, D), kv=lin(D, 2 * D), o2=lin(D, D),
                                      n3=RmsNorm(D), wi=lin(D, 2 * D), wo=lin(2 * D, D)))
        self.rel = nn.Embedding(32, HEADS)
        self.norm = RmsNorm(D)

    def bias(self, t):
        rel = torch.arange(t)[None, :] - torch.arange(t)[:, None]
        bucket = rel.clamp(-15, 16) + 15
        return self.rel(bucket).permute(2, 0, 1).unsqueeze(0)

    def self_attn(self, m, x, mask):
        q, k, v = m["qkv"](m["n1"](x)).split(D, -1)
        return x + m["o"](merge_heads(attention(split_heads(q, HEADS), split_heads(k, HEADS),
                                                split_heads(v, HEADS), mask)))

    def forward(self, ids, decoder_ids):
        e = self.emb(ids)
        e = self.self_attn(self.enc, e, self.bias(ids.shape[1]))
        e = self.norm(e + self.enc["wo"](F.relu(self.enc["wi"](self.enc["n2"](e)))))
        t = decoder_ids.shape[1]
        causal = torch.triu(torch.full((t, t), -1e9), 1)
        d = self.self_attn(self.dec, self.emb(decoder_ids), self.bias(t) + causal)
        k, v = self.dec["kv"](e).split(D, -1)
        q = self.dec["q"](self.dec["n2"](d))
        d = d + self.dec["o2"](merge_heads(attention(split_heads(q, HEADS), split_heads(k, HEADS),
                                                     split_heads(v, HEADS))))
        d = d + self.dec["wo"](F.relu(self.dec["wi"](self.dec["n3"](d))))
        return self.norm(d) @ self.emb.weight.t()


def t5_inputs(rng, b):
    return {"ids": rng.integers(0, VOCAB, (b, SEQ), dtype=np.int64),
            "decoder_ids": rng.integers(0, VOCAB, (b, 4), dtype=np.int64)}


class WhisperEncoder(nn.Module):
    def __init__(self, mels=16, frames=32):
        super().__init__()
        self.c1 = nn.Conv1d(mels, D, 3, padding=1)
        self.c2 = nn.Conv1d(D, D, 3, stride=2, padding=1)
        t = frames // 2
        pos = torch.arange(t)[:, None] * torch.exp(-math.log(10000) * torch.arange(0, D, 2) / D)
        self.register_buffer("pos", torch.cat([pos.sin(), pos.cos()], 1))
        self.layers = nn.ModuleList([nn.ModuleDict(dict(
            ln1=nn.LayerNorm(D), q=nn.Linear(D, D), k=nn.Linear(D, D, bias=False),
            v=nn.Linear(D, D), o=nn.Linear(D, D), ln2=nn.LayerNorm(D),
            fc=nn.Linear(D, 4 * D), out=nn.Linear(4 * D, D))) for _ in range(2)])
        self.ln = nn.LayerNorm(D)

    def forward(self, mel):
        x = F.gelu(self.c2(F.gelu(self.c1(mel)))).permute(0, 2, 1) + self.pos
        for l in self.layers:
            h = l["ln1"](x)
            x = x + l["o"](merge_heads(attention(split_heads(l["q"](h), HEADS),
                                                 split_heads(l["k"](h), HEADS),
                                                 split_heads(l["v"](h), HEADS))))
            x = x + l["out"](F.gelu(l["fc"](l["ln2"](x))))
        return self.ln(x)


# ------------------------------------------------------------------ registry

# name -> (builder, opset, family, inputs(rng, batch) -> {name: array}, dynamic batch)
MODELS = {
    "resnet18": (tv("resnet18", num_classes=10), 13, "classifier", img(3, 64, 64), True),
    "mobilenet_v2": (tv("mobilenet_v2", num_classes=10), 14, "classifier", img(3, 64, 64), True),
    "mobilenet_v3_small": (tv("mobilenet_v3_small", num_classes=10), 15, "classifier", img(3, 64, 64), True),
    "efficientnet_b0": (tv("efficientnet_b0", num_classes=10), 16, "classifier", img(3, 64, 64), True),
    "shufflenet_v2_x0_5": (tv("shufflenet_v2_x0_5", num_classes=10), 17, "classifier", img(3, 64, 64), True),
    "densenet121": (tv("densenet121", num_classes=10), 13, "classifier", img(3, 32, 32), True),
    "googlenet": (tv("googlenet", num_classes=10, aux_logits=False, init_weights=True), 14,
                  "classifier", img(3, 64, 64), True),
    "regnet_x_400mf": (tv("regnet_x_400mf", num_classes=10), 15, "classifier", img(3, 64, 64), True),
    "convnext_tiny": (tv("convnext_tiny", num_classes=10), 17, "classifier", img(3, 32, 32), True),
    "squeezenet1_1": (tv("squeezenet1_1", num_classes=10), 13, "classifier", img(3, 64, 64), True),
    "mnasnet0_5": (tv("mnasnet0_5", num_classes=10), 16, "classifier", img(3, 64, 64), True),
    "vit": (vit, 14, "classifier", img(3, 64, 64), True),
    "swin": (swin, 17, "classifier", img(3, 32, 32), False),
    "lraspp_mobilenet_v3": (seg("lraspp_mobilenet_v3_large"), 14, "segmentation", img(3, 64, 64), True),
    "deeplabv3_mobilenet_v3": (seg("deeplabv3_mobilenet_v3_large"), 16, "segmentation", img(3, 64, 64), True),
    "ssdlite": (SsdLite, 13, "detection",
                lambda r, b: {"images": r.random((3, 320, 320), dtype=np.float32)}, False),
    "unet_bilinear": (lambda: UNet("bilinear"), 13, "segmentation", img(3, 32, 32), True),
    "unet_nearest": (lambda: UNet("nearest"), 17, "segmentation", img(3, 32, 32), True),
    "style_transfer": (StyleTransfer, 15, "image-to-image", img(3, 32, 32), True),
    "espcn": (Espcn, 13, "super-resolution", img(1, 24, 24), True),
    "conv1d_audio": (Conv1dAudio, 14, "audio", img(1, 400), True),
    "conv3d_video": (Conv3dVideo, 16, "video", img(3, 4, 16, 16), True),
    "lstm_text": (TextLstm, 14, "recurrent", tokens(16), True),
    "gru_speech": (SpeechGru, 15, "recurrent", lambda r, b: {"input": r.standard_normal((b, 20, 40)).astype(np.float32)}, True),
    "rnn_relu": (PlainRnn, 13, "recurrent", lambda r, b: {"input": r.standard_normal((10, b, 12)).astype(np.float32)}, False),
    "gpt2": (Gpt2, 17, "language model", tokens(SEQ, VOCAB), True),
    "gpt2_op13": (Gpt2, 13, "language model", tokens(SEQ, VOCAB), True),
    "llama": (Llama, 15, "language model", tokens(SEQ, VOCAB), True),
    "llama_kv": (LlamaKv, 17, "language model", llama_kv_inputs, False),
    "bert": (Bert, 13, "language model", bert_inputs, True),
    "t5": (T5, 16, "language model", t5_inputs, True),
    "whisper_encoder": (WhisperEncoder, 14, "audio language model", img(16, 32), True),
}


def export(name, out):
    builder, opset, family, make_inputs, dynamic = MODELS[name]
    torch.manual_seed(sum(map(ord, name)))
    model = builder().eval()
    rng = np.random.default_rng(sum(map(ord, name)))
    # The recurrent model with the sequence first keeps its batch fixed.
    batch, calib_batch = (2, 4) if dynamic else (2, 2)
    inputs = make_inputs(rng, batch)
    calib = make_inputs(rng, calib_batch)
    names = list(inputs)
    args = tuple(torch.from_numpy(inputs[n]) for n in names)
    with torch.no_grad():
        outs = model(*args)
    n_out = len(outs) if isinstance(outs, tuple) else 1
    out_names = [f"output{i}" for i in range(n_out)] if n_out > 1 else ["output"]
    if name == "ssdlite":
        out_names = ["boxes", "scores", "labels"]
    axes = {n: {0: "batch"} for n in names + out_names} if dynamic else None
    if name == "llama_kv":  # the cache's batch is dim 1
        axes = None
    tmp = out / f".{name}.onnx.tmp"
    torch.onnx.export(model, args, str(tmp), opset_version=opset, input_names=names,
                      output_names=out_names, dynamic_axes=axes, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(str(tmp)))
    for folder, data in (("inputs", inputs), ("calib", calib)):
        d = out / f"{name}.{folder}"
        d.mkdir(exist_ok=True)
        for k, v in data.items():
            np.save(d / f"{k}.npy", v)
    os.replace(tmp, out / f"{name}.onnx")
    (out / f"{name}.stamp").write_text(HASH)
    return dict(name=name, family=family, opset=opset, inputs=names, outputs=out_names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--filter", help="only models whose name matches this regex")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    names = [n for n in MODELS if not args.filter or re.search(args.filter, n)]
    if args.list:
        print("\n".join(names))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = {m["name"]: m for m in json.loads(manifest_path.read_text())} \
        if manifest_path.is_file() else {}
    failed = 0
    for name in names:
        stamp = args.out / f"{name}.stamp"
        if stamp.is_file() and stamp.read_text() == HASH and name in manifest:
            continue
        start = time.monotonic()
        try:
            manifest[name] = export(name, args.out)
            print(f"make_zoo: {name} exported ({time.monotonic() - start:.1f} s)", flush=True)
        except Exception as e:  # one model's failure must not stop the others
            failed += 1
            print(f"make_zoo: {name} FAILED: {type(e).__name__}: {e}", flush=True)
    tmp = args.out / ".manifest.json.tmp"
    tmp.write_text(json.dumps([manifest[n] for n in MODELS if n in manifest], indent=1))
    os.replace(tmp, manifest_path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
