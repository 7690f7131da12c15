#!/usr/bin/python3
"""Exports public model architectures, with random weights, as ONNX test models.

    /usr/bin/python3 test/zoo/make_zoo.py --out DIR [--filter REGEX] [--list]

The executor and the quantizer are mostly tested on graphs we wrote ourselves;
these are "models from the wild": torchvision classifiers, segmenters and a
detector, recurrent, audio, video and image-to-image networks, and language-model
blocks written the way GPT-2, Llama, BERT, T5 and Whisper export, spread over
opsets 13 to 17. test/zoo/zoo_test.py runs them in `amct run` and `amct quantize`
and judges the results with ONNX Runtime.

For every model NAME, DIR gets
    NAME.onnx                       torch.onnx.export, eval mode, constant folding on
    NAME.inputs/<graph input>.npy   one batch (usually 2) in the dtype the graph wants
    NAME.calib/<graph input>.npy    another draw, batch 4 when the batch is dynamic
    NAME.stamp                      sha256 of this script + the manifest entry
and DIR/manifest.json lists every up-to-date model with its opset, input and
output names and notes. A model whose stamp matches this script is not made
again. Weights and data are seeded per model (from its name), so a run
reproduces the same models.

Models are small (64x64 or 96x96 images, hidden size 64) because a test run
executes all of them on a 2-core machine.
"""

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Dict, List

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.detection.transform import GeneralizedRCNNTransform

SCRIPT_HASH = hashlib.sha256(open(os.path.abspath(__file__), "rb").read()).hexdigest()


@dataclass
class Spec:
    """What a builder returns: the module and how to feed it."""
    model: nn.Module
    # (rng, batch) -> {graph input name: array}, in the order forward() takes them
    sample: Callable[[np.random.Generator, int], Dict[str, np.ndarray]]
    outputs: List[str]
    dynamic_axes: Dict[str, Dict[int, str]] = field(default_factory=dict)
    batch: int = 2
    calib_batch: int = 4
    notes: str = ""


def images(c, h, w, name="input"):
    return lambda rng, b: {name: rng.standard_normal((b, c, h, w), dtype=np.float32)}


def batch_dynamic(inputs, outputs, axis=0):
    return {n: {axis: "batch"} for n in list(inputs) + list(outputs)}


# ----------------------------------------------------------------- torchvision classifiers

def classifier(ctor, size=64, **kwargs):
    model = ctor(weights=None, num_classes=10, **kwargs)
    return Spec(model, images(3, size, size), ["logits"], batch_dynamic(["input"], ["logits"]),
                notes=f"image {size}x{size}")


def vit():
    model = torchvision.models.VisionTransformer(
        image_size=64, patch_size=16, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128,
        num_classes=10)
    return Spec(model, images(3, 64, 64), ["logits"], batch_dynamic(["input"], ["logits"]),
                notes="image 64x64, patch 16, 2 layers, hidden 64")


def swin():
    model = torchvision.models.SwinTransformer(
        patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4],
        num_classes=10)
    return Spec(model, images(3, 64, 64), ["logits"], batch_dynamic(["input"], ["logits"]),
                notes="image 64x64, embed 32, depths [2, 2], window 4 (shifted windows: roll)")


# ----------------------------------------------------------------- segmentation

class OutOnly(nn.Module):
    """torchvision segmenters return {"out": ...}; the graph gets that tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def tv_segmenter(ctor, size=96):
    model = OutOnly(ctor(weights=None, weights_backbone=None, num_classes=5, aux_loss=False))
    return Spec(model, images(3, size, size), ["out"], batch_dynamic(["input"], ["out"]),
                notes=f"image {size}x{size}, 5 classes")


def fcn_resnet18():
    # fcn_resnet50 is 35M parameters (~135 MB); the same FCN head on a ResNet-18
    # backbone keeps the architecture at a third of the size.
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.fcn import FCN, FCNHead
    backbone = IntermediateLayerGetter(torchvision.models.resnet18(weights=None),
                                       return_layers={"layer4": "out"})
    model = OutOnly(FCN(backbone, FCNHead(512, 5)))
    return Spec(model, images(3, 64, 64), ["out"], batch_dynamic(["input"], ["out"]),
                notes="torchvision FCN + FCNHead on a ResNet-18 backbone, image 64x64, 5 classes")


class UNet(nn.Module):
    def __init__(self, mode, widths=(16, 32, 64), classes=5):
        super().__init__()

        def double_conv(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        align = {} if mode == "nearest" else {"align_corners": False}
        self.down = nn.ModuleList()
        cin = 3
        for w in widths:
            self.down.append(double_conv(cin, w))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode=mode, **align),
                                         nn.Conv2d(cin, w, 1)))
            self.merge.append(double_conv(2 * w, w))
            cin = w
        self.head = nn.Conv2d(cin, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips[:-1])):
            x = merge(torch.cat([up(x), skip], 1))
        return self.head(x)


def unet(mode):
    return Spec(UNet(mode), images(3, 64, 64), ["out"], batch_dynamic(["input"], ["out"]),
                notes=f"hand-written UNet, nn.Upsample(scale_factor=2, mode={mode!r}) -> Resize")


# ----------------------------------------------------------------- detection

class FirstDetection(nn.Module):
    """SSD takes a list of images and returns a list of dicts; the graph gets one
    image's boxes, scores and labels."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images):
        det = self.model(list(images.unbind(0)))[0]
        return det["boxes"], det["scores"], det["labels"]


def ssdlite(size=128):
    model = torchvision.models.detection.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=5, detections_per_img=50,
        topk_candidates=100, score_thresh=0.2)
    # The builder fixes 320x320; the anchors follow the feature maps, so only the
    # resize in the transform has to change for a smaller input.
    model.transform = GeneralizedRCNNTransform(size, size, [0.5] * 3, [0.5] * 3,
                                               size_divisible=1, fixed_size=(size, size))
    sample = lambda rng, b: {"images": rng.random((b, 3, size, size), dtype=np.float32)}
    return Spec(FirstDetection(model), sample, ["boxes", "scores", "labels"], batch=1,
                calib_batch=1,
                notes=f"image {size}x{size} in [0, 1], 5 classes, batch fixed at 1; "
                      "NonMaxSuppression inside an If, TopK, NonZero; output length data-dependent")


# ----------------------------------------------------------------- sequence, audio, video

class LSTMText(nn.Module):
    def __init__(self, vocab=100, emb=32, hidden=48, classes=10):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, token_ids):
        _, (h, _) = self.lstm(self.embed(token_ids))
        return self.fc(torch.cat([h[-2], h[-1]], 1))


def lstm_text():
    sample = lambda rng, b: {"token_ids": rng.integers(0, 100, (b, 16), dtype=np.int64)}
    return Spec(LSTMText(), sample, ["logits"], batch_dynamic(["token_ids"], ["logits"]),
                notes="Embedding + 2-layer bidirectional LSTM (batch_first) + Linear, seq 16")


class GRUSpeech(nn.Module):
    def __init__(self, feats=40, hidden=48, classes=10):
        super().__init__()
        self.gru = nn.GRU(feats, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, features):
        out, _ = self.gru(features)
        return F.log_softmax(self.fc(out), -1)


def gru_speech():
    sample = lambda rng, b: {"features": rng.standard_normal((b, 20, 40), dtype=np.float32)}
    return Spec(GRUSpeech(), sample, ["log_probs"], batch_dynamic(["features"], ["log_probs"]),
                notes="2-layer GRU over 20 frames of 40 features, per-frame log-softmax (CTC-style)")


class RnnTagger(nn.Module):
    """nn.RNN with a per-step Linear head (a tagger), sequence-first."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(16, 32, num_layers=2)
        self.head = nn.Linear(32, 5)

    def forward(self, x, h0):
        y, h = self.rnn(x, h0)
        return self.head(y), h


def rnn_plain():
    rnn = RnnTagger()

    def sample(rng, b):
        return {"x": rng.standard_normal((12, b, 16), dtype=np.float32),
                "h0": rng.standard_normal((2, b, 32), dtype=np.float32)}

    # Sequence-first, so the batch is axis 1 everywhere.
    return Spec(rnn, sample, ["output", "h_n"], batch_dynamic(["x", "h0"], ["output", "h_n"], 1),
                notes="nn.RNN tanh, 2 layers, seq-first [12, batch, 16], initial state input, "
                      "Linear head per step")


class AudioConv1d(nn.Module):
    """M5-style raw-waveform classifier."""

    def __init__(self, classes=10):
        super().__init__()
        layers, cin = [], 1
        for cout, k, s in [(32, 80, 4), (32, 3, 1), (64, 3, 1)]:
            layers += [nn.Conv1d(cin, cout, k, stride=s), nn.BatchNorm1d(cout), nn.ReLU(),
                       nn.MaxPool1d(4)]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.fc = nn.Linear(cin, classes)

    def forward(self, waveform):
        return self.fc(self.features(waveform))


def conv1d_audio():
    sample = lambda rng, b: {"waveform": rng.standard_normal((b, 1, 2000), dtype=np.float32)}
    return Spec(AudioConv1d(), sample, ["logits"], batch_dynamic(["waveform"], ["logits"]),
                notes="M5-style Conv1d/BatchNorm1d/MaxPool1d on 2000 samples")


class VideoBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm3d(cout),
            nn.ReLU(), nn.Conv3d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout))
        self.short = (nn.Identity() if stride == 1 and cin == cout else
                      nn.Sequential(nn.Conv3d(cin, cout, 1, stride=stride, bias=False),
                                    nn.BatchNorm3d(cout)))

    def forward(self, x):
        return F.relu(self.body(x) + self.short(x))


def conv3d_video():
    model = nn.Sequential(
        nn.Conv3d(3, 16, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(16), nn.ReLU(),
        VideoBlock(16, 16, 1), VideoBlock(16, 32, 2),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(32, 10))
    sample = lambda rng, b: {"clip": rng.standard_normal((b, 3, 8, 32, 32), dtype=np.float32)}
    return Spec(model, sample, ["logits"], batch_dynamic(["clip"], ["logits"]),
                notes="tiny R3D: Conv3d/BatchNorm3d residual blocks, clip 8x32x32")


class StyleTransfer(nn.Module):
    """fast-neural-style's TransformerNet at half width with 3 residual blocks."""

    def __init__(self):
        super().__init__()

        def conv(cin, cout, k, stride=1):
            return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))

        def conv_in_relu(cin, cout, k, stride=1):
            return nn.Sequential(conv(cin, cout, k, stride), nn.InstanceNorm2d(cout, affine=True),
                                 nn.ReLU())

        self.down = nn.Sequential(conv_in_relu(3, 16, 9), conv_in_relu(16, 32, 3, 2),
                                  conv_in_relu(32, 64, 3, 2))
        self.res = nn.ModuleList(
            nn.Sequential(conv_in_relu(64, 64, 3), conv(64, 64, 3),
                          nn.InstanceNorm2d(64, affine=True)) for _ in range(3))
        self.up = nn.ModuleList([conv_in_relu(64, 32, 3), conv_in_relu(32, 16, 3)])
        self.out = conv(16, 3, 9)

    def forward(self, x):
        x = self.down(x)
        for block in self.res:
            x = x + block(x)
        for block in self.up:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"))
        return torch.tanh(self.out(x))


def style_transfer():
    return Spec(StyleTransfer(), images(3, 64, 64), ["stylized"],
                batch_dynamic(["input"], ["stylized"]),
                notes="ReflectionPad2d, InstanceNorm2d(affine), nearest upsampling + conv, tanh")


class ESPCN(nn.Module):
    def __init__(self, scale=3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 5, padding=2), nn.Tanh(), nn.Conv2d(64, 32, 3, padding=1), nn.Tanh(),
            nn.Conv2d(32, scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


def espcn():
    return Spec(ESPCN(), images(1, 32, 32), ["upscaled"], batch_dynamic(["input"], ["upscaled"]),
                notes="super-resolution x3 of a 32x32 luma image, PixelShuffle -> DepthToSpace")


# ----------------------------------------------------------------- language-model blocks
# Shapes follow the Hugging Face exports: batch and sequence are dynamic, so the
# masks, positions and rotary tables are computed in the graph as they are in the
# wild instead of being folded into constants.

VOCAB, HIDDEN, HEADS, LAYERS, SEQ = 100, 64, 4, 2, 8
HEAD_DIM = HIDDEN // HEADS
NEG = torch.finfo(torch.float32).min


def token_ids(name="input_ids", seq=SEQ):
    return lambda rng, b: {name: rng.integers(0, VOCAB, (b, seq), dtype=np.int64)}


def padding_mask(rng, b, seq, dtype):
    """1 = attend; every row but the first is right-padded by a random amount."""
    mask = np.ones((b, seq), dtype=dtype)
    for row in range(1, b):
        mask[row, rng.integers(seq // 2, seq + 1):] = 0
    return mask


class Conv1D(nn.Module):
    """GPT-2's linear: weight stored [in, out], applied with addmm on the flattened
    tokens, which exports as Reshape + Gemm + Reshape."""

    def __init__(self, nin, nout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(nin, nout) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nout))

    def forward(self, x):
        out_shape = x.size()[:-1] + (self.weight.size(1),)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(out_shape)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def split_heads(x, heads):
    b, t, _ = x.shape
    return x.view(b, t, heads, -1).transpose(1, 2)


def merge_heads(x):
    b, _, t, _ = x.shape
    return x.transpose(1, 2).reshape(b, t, -1)


class GPT2Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.c_attn, self.c_proj = Conv1D(HIDDEN, 3 * HIDDEN), Conv1D(HIDDEN, HIDDEN)
        self.c_fc, self.mlp_proj = Conv1D(HIDDEN, 4 * HIDDEN), Conv1D(4 * HIDDEN, HIDDEN)

    def forward(self, x):
        q, k, v = (split_heads(t, HEADS) for t in self.c_attn(self.ln_1(x)).split(HIDDEN, 2))
        scores = q @ k.transpose(-1, -2) / torch.sqrt(torch.tensor(float(v.size(-1))))
        t = x.size(1)
        future = torch.triu(torch.ones(t, t), diagonal=1).bool()
        scores = scores.masked_fill(future, float("-inf"))
        x = x + self.c_proj(merge_heads(scores.softmax(-1) @ v))
        return x + self.mlp_proj(gelu_tanh(self.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, positions=32):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(positions, HIDDEN)
        self.blocks = nn.ModuleList(GPT2Block() for _ in range(LAYERS))
        self.ln_f = nn.LayerNorm(HIDDEN)

    def forward(self, input_ids):
        pos = torch.arange(input_ids.size(1), dtype=torch.long)
        x = self.wte(input_ids) + self.wpe(pos)[None]
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied LM head


def gpt2():
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    return Spec(GPT2(), token_ids(), ["logits"], axes,
                notes="pre-LN, causal mask from triu(ones) + masked_fill(-inf), tanh-GELU "
                      "formula, addmm Conv1D, tied LM head; dynamic batch and sequence")


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary(position_ids, head_dim=HEAD_DIM, base=10000.0):
    """cos, sin [batch, 1, seq, head_dim] for int64 positions [batch, seq]."""
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = position_ids[:, :, None].float() * inv_freq[None, None, :]
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


class LlamaLayer(nn.Module):
    KV_HEADS = 2

    def __init__(self, intermediate=128):
        super().__init__()
        kv = self.KV_HEADS * HEAD_DIM
        self.input_norm, self.post_norm = RMSNorm(HIDDEN), RMSNorm(HIDDEN)
        self.q_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.k_proj = nn.Linear(HIDDEN, kv, bias=False)
        self.v_proj = nn.Linear(HIDDEN, kv, bias=False)
        self.o_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.gate_proj = nn.Linear(HIDDEN, intermediate, bias=False)
        self.up_proj = nn.Linear(HIDDEN, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, HIDDEN, bias=False)

    def repeat_kv(self, x):
        b, h, t, d = x.shape
        rep = HEADS // self.KV_HEADS
        return x[:, :, None].expand(b, h, rep, t, d).reshape(b, h * rep, t, d)

    def forward(self, x, cos, sin, mask, past_k=None, past_v=None):
        h = self.input_norm(x)
        q = split_heads(self.q_proj(h), HEADS)
        k = split_heads(self.k_proj(h), self.KV_HEADS)
        v = split_heads(self.v_proj(h), self.KV_HEADS)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k, v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
        scores = q @ self.repeat_kv(k).transpose(-1, -2) / math.sqrt(HEAD_DIM) + mask
        x = x + self.o_proj(merge_heads(scores.softmax(-1) @ self.repeat_kv(v)))
        h = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h)), k, v


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN)
        self.layers = nn.ModuleList(LlamaLayer() for _ in range(LAYERS))
        self.norm = RMSNorm(HIDDEN)
        self.lm_head = nn.Linear(HIDDEN, VOCAB, bias=False)

    def forward(self, input_ids):
        t = input_ids.size(1)
        positions = torch.arange(t, dtype=torch.long)[None]
        cos, sin = rotary(positions)
        mask = torch.full((t, t), NEG).triu(1)
        x = self.embed(input_ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)[0]
        return self.lm_head(self.norm(x))


class LlamaKV(Llama):
    """One decoding step with a KV cache, as optimum exports decoder-with-past."""

    def forward(self, input_ids, attention_mask, position_ids, *past):
        t, p = input_ids.size(1), past[0].size(2)
        cos, sin = rotary(position_ids)
        # Query i sits at absolute position p + i and may see keys 0..p+i that the
        # padding mask keeps.
        query_pos = torch.arange(t, dtype=torch.long)[:, None] + p
        key_pos = torch.arange(p + t, dtype=torch.long)[None, :]
        allowed = (key_pos <= query_pos)[None, None] & attention_mask[:, None, None, :].bool()
        mask = torch.where(allowed, torch.tensor(0.0), torch.tensor(NEG))
        x = self.embed(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, mask, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        return (self.lm_head(self.norm(x)), *presents)


def llama():
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    return Spec(Llama(), token_ids(), ["logits"], axes,
                notes="RMSNorm, rotary (cos/sin from in-graph positions), SwiGLU, GQA 4 heads / "
                      "2 KV heads, no biases; dynamic batch and sequence")


def llama_kv(past_len=8, seq=3):
    kv_names = [f"{kind}_{i}" for i in range(LAYERS) for kind in ("key", "value")]
    past_names = ["past_" + n for n in kv_names]
    present_names = ["present_" + n for n in kv_names]

    def sample(rng, b):
        mask = padding_mask(rng, b, past_len + seq, np.int64)[:, ::-1].copy()  # left padding
        positions = np.maximum(np.cumsum(mask, 1) - 1, 0)[:, -seq:]
        arrays = {"input_ids": rng.integers(0, VOCAB, (b, seq), dtype=np.int64),
                  "attention_mask": mask, "position_ids": positions.astype(np.int64)}
        for name in past_names:
            arrays[name] = rng.standard_normal((b, LlamaLayer.KV_HEADS, past_len, HEAD_DIM),
                                               dtype=np.float32)
        return arrays

    axes = {"input_ids": {0: "batch", 1: "sequence"}, "position_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "total_sequence"},
            "logits": {0: "batch", 1: "sequence"}}
    axes.update({n: {0: "batch", 2: "past_sequence"} for n in past_names})
    axes.update({n: {0: "batch", 2: "total_sequence"} for n in present_names})
    return Spec(LlamaKV(), sample, ["logits"] + present_names, axes,
                notes=f"llama with a KV cache: {seq} new tokens after {past_len} cached, "
                      "left-padded int64 attention_mask, position_ids input, present_* outputs")


class BertLayer(nn.Module):
    def __init__(self, intermediate=128):
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(HIDDEN, HIDDEN) for _ in range(3))
        self.attn_out, self.attn_norm = nn.Linear(HIDDEN, HIDDEN), nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ffn = nn.Sequential(nn.Linear(HIDDEN, intermediate), nn.GELU(),
                                 nn.Linear(intermediate, HIDDEN))
        self.ffn_norm = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, mask):
        q, k, v = (split_heads(f(x), HEADS) for f in (self.query, self.key, self.value))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HEAD_DIM) + mask
        x = self.attn_norm(x + self.attn_out(merge_heads(scores.softmax(-1) @ v)))
        return self.ffn_norm(x + self.ffn(x))


class Bert(nn.Module):
    def __init__(self, positions=32):
        super().__init__()
        self.word, self.position = nn.Embedding(VOCAB, HIDDEN), nn.Embedding(positions, HIDDEN)
        self.token_type = nn.Embedding(2, HIDDEN)
        self.register_buffer("position_ids", torch.arange(positions)[None])
        self.norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer() for _ in range(LAYERS))
        self.pooler = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, input_ids, attention_mask, token_type_ids):
        pos = self.position_ids[:, :input_ids.size(1)]
        x = self.norm(self.word(input_ids) + self.position(pos) + self.token_type(token_type_ids))
        mask = (1.0 - attention_mask[:, None, None, :].float()) * NEG
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


def bert():
    def sample(rng, b):
        mask = padding_mask(rng, b, SEQ, np.int64)
        types = np.zeros((b, SEQ), dtype=np.int64)
        types[:, SEQ // 2:] = 1  # sentence pair
        return {"input_ids": rng.integers(0, VOCAB, (b, SEQ), dtype=np.int64),
                "attention_mask": mask, "token_type_ids": types}

    seq_axes = {0: "batch", 1: "sequence"}
    axes = {n: seq_axes for n in ("input_ids", "attention_mask", "token_type_ids",
                                  "last_hidden_state")}
    axes["pooler_output"] = {0: "batch"}
    return Spec(Bert(), sample, ["last_hidden_state", "pooler_output"], axes,
                notes="post-LN encoder, int64 attention_mask -> additive mask, erf GELU, "
                      "tanh pooler; dynamic batch and sequence")


def relative_position_bucket(relative, bidirectional, num_buckets=8, max_distance=16):
    """Hugging Face's T5 bucketing, computed in the graph. The small bucket counts
    put |relative| >= 2 in the logarithmic range, so both branches are used at
    sequence 8 (and no value lands on a bucket boundary, where float rounding
    would decide)."""
    buckets = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (relative > 0).long() * num_buckets
        relative = torch.abs(relative)
    else:
        relative = -torch.min(relative, torch.zeros_like(relative))
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(relative.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).long()
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(relative < max_exact, relative, large)


class T5Attention(nn.Module):
    def __init__(self, bias_buckets=0, bidirectional=True):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(HIDDEN, HIDDEN, bias=False) for _ in range(4))
        self.bidirectional = bidirectional
        self.bias = nn.Embedding(bias_buckets, HEADS) if bias_buckets else None

    def position_bias(self, q_len, k_len):
        rel = (torch.arange(k_len, dtype=torch.long)[None, :] -
               torch.arange(q_len, dtype=torch.long)[:, None])
        buckets = relative_position_bucket(rel, self.bidirectional, self.bias.num_embeddings)
        return self.bias(buckets).permute(2, 0, 1)[None]

    def forward(self, x, kv, mask):
        q, k, v = split_heads(self.q(x), HEADS), split_heads(self.k(kv), HEADS), split_heads(self.v(kv), HEADS)
        scores = q @ k.transpose(-1, -2) + mask  # T5 does not scale the scores
        return self.o(merge_heads(scores.softmax(-1) @ v))


class T5FFN(nn.Module):
    def __init__(self, ff=128):
        super().__init__()
        self.norm = RMSNorm(HIDDEN)  # T5LayerNorm: no mean subtraction, no bias
        self.wi, self.wo = nn.Linear(HIDDEN, ff, bias=False), nn.Linear(ff, HIDDEN, bias=False)

    def forward(self, x):
        return x + self.wo(F.relu(self.wi(self.norm(x))))


def additive(mask):
    """bool [batch, keys] (True = attend) -> [batch, 1, 1, keys]."""
    return (~mask)[:, None, None, :].float() * NEG


class T5Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN)
        # Only the first layer owns the bias table; the others reuse its output.
        self.attn = nn.ModuleList(T5Attention(8 if i == 0 else 0) for i in range(LAYERS))
        self.attn_norm = nn.ModuleList(RMSNorm(HIDDEN) for _ in range(LAYERS))
        self.ffn = nn.ModuleList(T5FFN() for _ in range(LAYERS))
        self.final_norm = RMSNorm(HIDDEN)

    def forward(self, input_ids, attention_mask):
        t = input_ids.size(1)
        mask = self.attn[0].position_bias(t, t) + additive(attention_mask)
        x = self.embed(input_ids)
        for attn, norm, ffn in zip(self.attn, self.attn_norm, self.ffn):
            h = norm(x)
            x = ffn(x + attn(h, h, mask))
        return self.final_norm(x)


class T5Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, HIDDEN)
        self.self_attn = nn.ModuleList(T5Attention(8 if i == 0 else 0, bidirectional=False)
                                       for i in range(LAYERS))
        self.cross_attn = nn.ModuleList(T5Attention() for _ in range(LAYERS))
        self.norms = nn.ModuleList(RMSNorm(HIDDEN) for _ in range(2 * LAYERS))
        self.ffn = nn.ModuleList(T5FFN() for _ in range(LAYERS))
        self.final_norm = RMSNorm(HIDDEN)

    def forward(self, decoder_input_ids, encoder_hidden_states, encoder_attention_mask):
        t = decoder_input_ids.size(1)
        causal = torch.full((t, t), NEG).triu(1)
        self_mask = self.self_attn[0].position_bias(t, t) + causal
        cross_mask = additive(encoder_attention_mask)
        x = self.embed(decoder_input_ids)
        for i in range(LAYERS):
            h = self.norms[2 * i](x)
            x = x + self.self_attn[i](h, h, self_mask)
            x = x + self.cross_attn[i](self.norms[2 * i + 1](x), encoder_hidden_states, cross_mask)
            x = self.ffn[i](x)
        # Tied embeddings are rescaled before the LM head, as in the original T5.
        return (self.final_norm(x) * HIDDEN ** -0.5) @ self.embed.weight.t()


def t5_encoder():
    def sample(rng, b):
        return {"input_ids": rng.integers(0, VOCAB, (b, SEQ), dtype=np.int64),
                "attention_mask": padding_mask(rng, b, SEQ, np.bool_)}

    seq_axes = {0: "batch", 1: "sequence"}
    return Spec(T5Encoder(), sample, ["last_hidden_state"],
                {n: seq_axes for n in ("input_ids", "attention_mask", "last_hidden_state")},
                notes="T5LayerNorm, bucketed relative position bias computed in the graph "
                      "(Log, Cast, Where), ReLU FFN, no biases, bool attention_mask")


def t5_decoder(enc_len=10):
    def sample(rng, b):
        return {"decoder_input_ids": rng.integers(0, VOCAB, (b, SEQ), dtype=np.int64),
                "encoder_hidden_states": rng.standard_normal((b, enc_len, HIDDEN),
                                                             dtype=np.float32),
                "encoder_attention_mask": padding_mask(rng, b, enc_len, np.bool_)}

    dec, enc = {0: "batch", 1: "decoder_sequence"}, {0: "batch", 1: "encoder_sequence"}
    axes = {"decoder_input_ids": dec, "logits": dec, "encoder_hidden_states": enc,
            "encoder_attention_mask": enc}
    return Spec(T5Decoder(), sample, ["logits"], axes,
                notes="causal self-attention with unidirectional relative bias, cross-attention "
                      f"over {enc_len} encoder states with a bool mask, tied rescaled LM head")


class WhisperLayer(nn.Module):
    def __init__(self, ff=128):
        super().__init__()
        self.attn_norm, self.ffn_norm = nn.LayerNorm(HIDDEN), nn.LayerNorm(HIDDEN)
        self.q_proj, self.v_proj = nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.k_proj = nn.Linear(HIDDEN, HIDDEN, bias=False)
        self.out_proj = nn.Linear(HIDDEN, HIDDEN)
        self.fc1, self.fc2 = nn.Linear(HIDDEN, ff), nn.Linear(ff, HIDDEN)

    def forward(self, x):
        h = self.attn_norm(x)
        q = split_heads(self.q_proj(h) * HEAD_DIM ** -0.5, HEADS)
        k, v = split_heads(self.k_proj(h), HEADS), split_heads(self.v_proj(h), HEADS)
        x = x + self.out_proj(merge_heads((q @ k.transpose(-1, -2)).softmax(-1) @ v))
        return x + self.fc2(F.gelu(self.fc1(self.ffn_norm(x))))


def sinusoids(length, channels):
    inc = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2, dtype=torch.float32))
    t = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cat([t.sin(), t.cos()], 1)


class WhisperEncoder(nn.Module):
    def __init__(self, mels=80, frames=32):
        super().__init__()
        self.conv1 = nn.Conv1d(mels, HIDDEN, 3, padding=1)
        self.conv2 = nn.Conv1d(HIDDEN, HIDDEN, 3, stride=2, padding=1)
        self.register_buffer("embed_positions", sinusoids(frames // 2, HIDDEN))
        self.layers = nn.ModuleList(WhisperLayer() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(HIDDEN)

    def forward(self, input_features):
        x = F.gelu(self.conv2(F.gelu(self.conv1(input_features)))).permute(0, 2, 1)
        x = x + self.embed_positions
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


def whisper_encoder():
    sample = lambda rng, b: {"input_features": rng.standard_normal((b, 80, 32), dtype=np.float32)}
    return Spec(WhisperEncoder(), sample, ["last_hidden_state"],
                batch_dynamic(["input_features"], ["last_hidden_state"]),
                notes="80 mel bins x 32 frames, Conv1d + GELU (second stride 2), sinusoidal "
                      "positions, pre-LN layers")


# ----------------------------------------------------------------- registry
# name -> (builder, opset, family). Opsets are spread over 13..17; models with
# nn.LayerNorm appear at 17 (LayerNormalization) and below (decomposed).

tvm = torchvision.models
REGISTRY = {
    "resnet18": (partial(classifier, tvm.resnet18), 13, "classifier"),
    "mobilenet_v2": (partial(classifier, tvm.mobilenet_v2), 14, "classifier"),
    "mobilenet_v3_small": (partial(classifier, tvm.mobilenet_v3_small), 15, "classifier"),
    "efficientnet_b0": (partial(classifier, tvm.efficientnet_b0), 16, "classifier"),
    "shufflenet_v2_x0_5": (partial(classifier, tvm.shufflenet_v2_x0_5), 17, "classifier"),
    "densenet121": (partial(classifier, tvm.densenet121), 13, "classifier"),
    "googlenet": (partial(classifier, tvm.googlenet, aux_logits=False, init_weights=True), 14,
                  "classifier"),
    "regnet_x_400mf": (partial(classifier, tvm.regnet_x_400mf), 15, "classifier"),
    "convnext_tiny": (partial(classifier, tvm.convnext_tiny), 17, "classifier"),
    "vit": (vit, 13, "classifier"),
    "swin": (swin, 17, "classifier"),
    "squeezenet1_1": (partial(classifier, tvm.squeezenet1_1), 16, "classifier"),
    "mnasnet0_5": (partial(classifier, tvm.mnasnet0_5), 14, "classifier"),
    "lraspp_mobilenet_v3_large": (
        partial(tv_segmenter, tvm.segmentation.lraspp_mobilenet_v3_large), 15, "segmentation"),
    "deeplabv3_mobilenet_v3_large": (
        partial(tv_segmenter, tvm.segmentation.deeplabv3_mobilenet_v3_large), 13, "segmentation"),
    "fcn_resnet18": (fcn_resnet18, 16, "segmentation"),
    "unet_bilinear": (partial(unet, "bilinear"), 13, "segmentation"),
    "unet_nearest": (partial(unet, "nearest"), 17, "segmentation"),
    "ssdlite_mobilenet_v3_large": (ssdlite, 13, "detection"),
    "lstm_text": (lstm_text, 14, "sequence"),
    "gru_speech": (gru_speech, 15, "audio"),
    "rnn_plain": (rnn_plain, 13, "sequence"),
    "conv1d_audio": (conv1d_audio, 16, "audio"),
    "conv3d_video": (conv3d_video, 17, "video"),
    "style_transfer": (style_transfer, 13, "image-to-image"),
    "espcn": (espcn, 15, "image-to-image"),
    "gpt2": (gpt2, 17, "language model"),
    "llama": (llama, 15, "language model"),
    "llama_kv": (llama_kv, 16, "language model"),
    "bert": (bert, 13, "language model"),
    "t5_encoder": (t5_encoder, 14, "language model"),
    "t5_decoder": (t5_decoder, 16, "language model"),
    "whisper_encoder": (whisper_encoder, 17, "audio"),
}


# ----------------------------------------------------------------- making one model

NORMS = (nn.modules.batchnorm._BatchNorm,)


def trained_looking(model, settle_batch):
    """Random init leaves parameters that hide executor bugs: norm scales of 1 and
    biases of 0 give the same output whether or not they are applied, ViT's head is
    all zeros and ConvNeXt's layer scale is 1e-6. Such constant tensors get random
    values, as trained weights have. BatchNorm's running statistics are then set
    from a batch (as training would), so BN folding sees non-trivial statistics
    and activations keep a trained network's scale."""
    with torch.no_grad():
        for p in model.parameters():
            flat = p.view(-1)
            if flat.numel() and bool((flat == flat[0]).all()):
                if float(flat[0]) >= 0.5:
                    p.uniform_(0.5, 1.5)
                else:
                    p.normal_(0.0, 0.1)
        bns = [m for m in model.modules() if isinstance(m, NORMS)]
        if bns:
            for bn in bns:
                bn.reset_running_stats()
                bn.momentum = None  # cumulative average over the settle batch
                bn.train()
            model(*(torch.from_numpy(a) for a in settle_batch.values()))
            for bn in bns:
                bn.eval()


NP_DTYPE = {k: np.dtype(v) for k, v in onnx.mapping.TENSOR_TYPE_TO_NP_TYPE.items()}


def check(onnx_path, folders):
    """onnx.checker, and each folder holds exactly one .npy per graph input with its
    dtype and static dims (symbolic dims consistent across the inputs)."""
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model, full_check=True)
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    for folder in folders:
        files = sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".npy"))
        if files != sorted(i.name for i in graph_inputs):
            raise RuntimeError(f"{folder} holds {files}, graph inputs are "
                               f"{[i.name for i in graph_inputs]}")
        symbols = {}
        for gi in graph_inputs:
            a = np.load(os.path.join(folder, gi.name + ".npy"))
            tt = gi.type.tensor_type
            if a.dtype != NP_DTYPE[tt.elem_type]:
                raise RuntimeError(f"{gi.name}: .npy is {a.dtype}, graph wants "
                                   f"{NP_DTYPE[tt.elem_type]}")
            dims = tt.shape.dim
            ok = len(dims) == a.ndim
            for d, n in zip(dims, a.shape):
                if d.HasField("dim_value"):
                    ok &= d.dim_value == n
                elif d.dim_param:
                    ok &= symbols.setdefault(d.dim_param, n) == n
            if not ok:
                raise RuntimeError(f"{gi.name}: .npy shape {a.shape} does not fit "
                                   f"{[d.dim_value or d.dim_param for d in dims]}")
    return [i.name for i in graph_inputs], [o.name for o in model.graph.output]


def write_npys(folder, arrays):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        if f.endswith(".npy") and f[:-4] not in arrays:
            os.remove(os.path.join(folder, f))
    for name, a in arrays.items():
        tmp = os.path.join(folder, f".{name}.tmp.npy")
        np.save(tmp, a)
        os.replace(tmp, os.path.join(folder, name + ".npy"))


def paths(out, name):
    base = os.path.join(out, name)
    return base + ".onnx", base + ".inputs", base + ".calib", base + ".stamp"


def cached_entry(out, name):
    """The manifest entry from NAME.stamp if it was made by this script and its
    files are all there, else None."""
    onnx_path, inputs_dir, calib_dir, stamp = paths(out, name)
    try:
        with open(stamp) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if data.get("script_sha256") != SCRIPT_HASH or not os.path.isfile(onnx_path):
        return None
    entry = data["manifest"]
    for folder in (inputs_dir, calib_dir):
        if not all(os.path.isfile(os.path.join(folder, n + ".npy")) for n in entry["inputs"]):
            return None
    return entry


def remove(out, name):
    onnx_path, inputs_dir, calib_dir, stamp = paths(out, name)
    for f in (stamp, onnx_path):
        if os.path.exists(f):
            os.remove(f)
    for d in (inputs_dir, calib_dir):
        shutil.rmtree(d, ignore_errors=True)


def make(out, name):
    builder, opset, family = REGISTRY[name]
    onnx_path, inputs_dir, calib_dir, stamp = paths(out, name)
    seed = zlib.crc32(name.encode())
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    spec = builder()
    model = spec.model.eval()
    # Batch 4 even where the graph's batch is fixed: BN in training mode needs
    # more than one value per channel, and SSD's last feature maps are 1x1.
    settle = spec.sample(rng, 4)
    inputs = spec.sample(rng, spec.batch)
    calib = spec.sample(rng, spec.calib_batch)
    trained_looking(model, settle)

    tmp = onnx_path + ".tmp"
    # Not under no_grad: there nn.MultiheadAttention takes its fused fast path,
    # which has no ONNX export.
    torch.onnx.export(model, tuple(torch.from_numpy(a) for a in inputs.values()), tmp,
                      opset_version=opset, do_constant_folding=True,
                      input_names=list(inputs), output_names=spec.outputs,
                      dynamic_axes=spec.dynamic_axes or None)
    os.replace(tmp, onnx_path)
    write_npys(inputs_dir, inputs)
    write_npys(calib_dir, calib)
    in_names, out_names = check(onnx_path, [inputs_dir, calib_dir])

    shapes = ", ".join(f"{k} {a.dtype}{list(a.shape)}" for k, a in inputs.items())
    dynamic = sorted({a for axes in spec.dynamic_axes.values() for a in axes.values()})
    notes = "; ".join(filter(None, [spec.notes, shapes,
                                    f"dynamic: {', '.join(dynamic)}" if dynamic else "static"]))
    entry = {"name": name, "family": family, "opset": opset, "inputs": in_names,
             "outputs": out_names, "notes": notes}
    with open(stamp + ".tmp", "w") as f:
        json.dump({"script_sha256": SCRIPT_HASH, "manifest": entry}, f, indent=1)
    os.replace(stamp + ".tmp", stamp)
    return entry


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--filter", help="only models whose name matches this regex")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    args = ap.parse_args()
    names = [n for n in REGISTRY if not args.filter or re.search(args.filter, n)]
    if args.list:
        print("\n".join(names))
        return 0
    if not args.out:
        ap.error("--out is required")
    os.makedirs(args.out, exist_ok=True)
    # The tracer warns about every Python-int shape and constant it records; the
    # checks after export are what catch a broken model.
    warnings.filterwarnings("ignore")

    start, failed = time.monotonic(), 0
    for name in names:
        if cached_entry(args.out, name):
            print(f"cached    {name}")
            continue
        t0 = time.monotonic()
        try:
            make(args.out, name)
            print(f"exported  {name}  ({time.monotonic() - t0:.1f} s)", flush=True)
        except Exception as e:  # one model's failure must not stop the others
            remove(args.out, name)
            failed += 1
            print(f"FAILED    {name}: {type(e).__name__}: {' '.join(str(e).split())[:500]}",
                  flush=True)

    # The manifest covers every up-to-date model in the folder, not only this
    # run's --filter, so that a filtered run does not hide the rest.
    manifest = [e for e in (cached_entry(args.out, n) for n in REGISTRY) if e]
    tmp = os.path.join(args.out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(tmp, os.path.join(args.out, "manifest.json"))
    print(f"{len(names) - failed} of {len(names)} models ready in {args.out} "
          f"({time.monotonic() - start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
