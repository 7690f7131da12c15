#!/usr/bin/python3
"""Trains the language model the weight-quantization accuracy test runs on,
and exports it: a Llama-shaped character model (RMSNorm, rotary position
embeddings computed in the graph, SwiGLU, grouped-query attention with 4
heads over 2 key/value heads, no biases, untied head) learned on real
English text, the license texts Debian ships in /usr/share/common-licenses
(base-files, on every Debian system).

    make_char_lm.py OUT_DIR [--steps N]

writes OUT_DIR/char_lm.onnx (opset 17; input `tokens` [batch, seq] int64,
output `logits` [batch, seq, 128]), char_lm.calib.npy (32 training windows
of 128 characters: the calibration data) and char_lm.eval.npy (held-out
windows of 129 characters from licenses never trained on: the model reads
the first 128 and is scored on predicting the next character of each).
Characters are byte values below 128 (others become '?'). Seeded: the same
torch version makes the same files. 600 steps (the held-out loss stops falling there: 300 KB of
text); about 5 minutes on 2 cores.
"""
import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

@dataclass(frozen=True)
class Dims:
    """The model's sizes; bench/llm_quantize.py builds a 110M-parameter one."""
    vocab: int = 128
    hidden: int = 128
    heads: int = 4
    kv_heads: int = 2
    layers: int = 3
    ff: int = 256

    @property
    def head_dim(self):
        return self.hidden // self.heads


SEQ = 128
LICENSES = Path("/usr/share/common-licenses")
HELD_OUT = ("MPL-2.0", "Apache-2.0")


def read_text(names):
    data = b"\n".join((LICENSES / n).read_bytes() for n in names)
    return np.frombuffer(bytes(c if c < 128 else ord("?") for c in data), np.uint8).astype(np.int64)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotary(t, head_dim):
    inv_freq = 1.0 / 10000.0 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = torch.arange(t, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


class Layer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        kv = d.kv_heads * d.head_dim
        self.input_norm, self.post_norm = RMSNorm(d.hidden), RMSNorm(d.hidden)
        self.q_proj = nn.Linear(d.hidden, d.hidden, bias=False)
        self.k_proj = nn.Linear(d.hidden, kv, bias=False)
        self.v_proj = nn.Linear(d.hidden, kv, bias=False)
        self.o_proj = nn.Linear(d.hidden, d.hidden, bias=False)
        self.gate_proj = nn.Linear(d.hidden, d.ff, bias=False)
        self.up_proj = nn.Linear(d.hidden, d.ff, bias=False)
        self.down_proj = nn.Linear(d.ff, d.hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        d = self.d
        b, t, _ = x.shape
        h = self.input_norm(x)
        q = self.q_proj(h).view(b, t, d.heads, d.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, d.kv_heads, d.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, d.kv_heads, d.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = d.heads // d.kv_heads
        k = k[:, :, None].expand(b, d.kv_heads, rep, t, d.head_dim).reshape(b, d.heads, t, d.head_dim)
        v = v[:, :, None].expand(b, d.kv_heads, rep, t, d.head_dim).reshape(b, d.heads, t, d.head_dim)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d.head_dim) + mask
        a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d.hidden)
        x = x + self.o_proj(a)
        h = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class CharLM(nn.Module):
    def __init__(self, d=Dims()):
        super().__init__()
        self.d = d
        self.embed = nn.Embedding(d.vocab, d.hidden)
        self.layers = nn.ModuleList(Layer(d) for _ in range(d.layers))
        self.norm = RMSNorm(d.hidden)
        self.lm_head = nn.Linear(d.hidden, d.vocab, bias=False)

    def forward(self, tokens):
        t = tokens.size(1)
        cos, sin = rotary(t, self.d.head_dim)
        mask = torch.full((t, t), -1e4).triu(1)
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def export(model, example, path):
    """torch.onnx.export with dynamic batch and sequence, via a temporary file."""
    tmp = Path(str(path) + ".tmp")
    torch.onnx.export(model, (example,), str(tmp), opset_version=17, do_constant_folding=True,
                      input_names=["tokens"], output_names=["logits"],
                      dynamic_axes={"tokens": {0: "batch", 1: "sequence"},
                                    "logits": {0: "batch", 1: "sequence"}})
    os.replace(tmp, path)


def windows(text, count, length, rng):
    starts = rng.integers(0, len(text) - length, size=count)
    return np.stack([text[s:s + length] for s in starts])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(0)
    train_names = sorted(p.name for p in LICENSES.iterdir()
                         if not p.is_symlink() and p.name not in HELD_OUT)
    train, held = read_text(train_names), read_text(HELD_OUT)

    model = CharLM()
    vocab = model.d.vocab
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps,
                                                pct_start=0.1)
    for step in range(args.steps):
        batch = torch.from_numpy(windows(train, 32, SEQ + 1, rng))
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps - 1:
            with torch.no_grad():
                x = torch.from_numpy(windows(held, 16, SEQ + 1, np.random.default_rng(3)))
                held_loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, vocab),
                                            x[:, 1:].reshape(-1))
            print(f"step {step} train bpc {loss.item() / math.log(2):.3f} "
                  f"held-out {held_loss.item() / math.log(2):.3f}", flush=True)

    model.eval()
    eval_windows = windows(held, 64, SEQ + 1, np.random.default_rng(1))
    with torch.no_grad():
        x = torch.from_numpy(eval_windows)
        loss = F.cross_entropy(model(x[:, :-1]).reshape(-1, vocab), x[:, 1:].reshape(-1))
    print(f"held-out bpc {loss.item() / math.log(2):.4f}")
    np.save(args.out / "char_lm.calib.npy", windows(train, 32, SEQ, np.random.default_rng(2)))
    np.save(args.out / "char_lm.eval.npy", eval_windows)
    export(model, torch.from_numpy(eval_windows[:2, :-1]), args.out / "char_lm.onnx")

if __name__ == "__main__":
    main()
