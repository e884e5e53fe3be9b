"""The workloads of docs/workloads.md as PyTorch modules, shared by the PyTorch
timing and the ONNX export (so both peers run the same graphs). The CNN
attention workloads run the project's reference modules (timm's
formulas), returning y only."""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from edgeattn_torch import ECA, SE, AttentionForecaster, Cbam, NonLocal, Seq2Seq, randomize  # noqa: E402


class Sdpa(nn.Module):  # W1: softmax(X X^T / sqrt(d)) X
    def forward(self, x):
        return torch.softmax(x @ x.transpose(1, 2) * (x.shape[-1] ** -0.5), dim=-1) @ x


class LuongDot(nn.Module):  # W2: one query, keys = values
    def forward(self, q, k):
        return torch.softmax(q @ k.transpose(1, 2), dim=-1) @ k


class Bahdanau(nn.Module):  # W2: additive, A = 256, no query bias
    def __init__(self, d=256, a=256):
        super().__init__()
        torch.manual_seed(0)
        self.query_proj = nn.Linear(d, a, bias=False)
        self.key_proj = nn.Linear(d, a, bias=False)
        self.v = nn.Linear(a, 1, bias=False)

    def forward(self, q, k):  # key projection inside the call (W2_bahdanau_full)
        return self.step(q, self.key_proj(k), k)

    def step(self, q, kp, k):  # key projection given (W2_bahdanau_pre)
        s = self.v(torch.tanh(self.query_proj(q).unsqueeze(2) + kp.unsqueeze(1))).squeeze(-1)
        return torch.softmax(s, dim=-1) @ k


class BahdanauPre(nn.Module):
    def __init__(self, full):
        super().__init__()
        self.full = full

    def forward(self, q, kp, k):
        return self.full.step(q, kp, k)


class Argmax(nn.Module):  # W9: hard attention's selection
    def forward(self, s):
        return torch.argmax(s, dim=-1)


class Multinomial(nn.Module):  # W9: one sample per row of softmax(scores)
    def forward(self, s):
        return torch.multinomial(torch.softmax(s, dim=-1), 1)


class YOnly(nn.Module):
    """One output of a reference module (y, or seq2seq's tokens)."""

    def __init__(self, m, key="y", std=0.2):
        super().__init__()
        self.m, self.key = randomize(m, std=std), key

    def forward(self, x):
        return self.m(x)[self.key]


def cases():
    """(name, module, inputs, counted flops or bytes, unit)"""
    torch.manual_seed(1)
    out = []
    for L in (128, 1024, 4096):
        out.append((f"W1_sdpa_L{L}_d64", Sdpa(), (torch.randn(1, L, 64),), 4.0 * L * L * 64, "flops"))
    q, k = torch.randn(1, 1, 256), torch.randn(1, 50, 256)
    out.append(("W2_luong_dot", LuongDot(), (q, k), 51200.0, "flops"))
    b = Bahdanau()
    out.append(("W2_bahdanau_full", b, (q, k), 6735872.0, "flops"))
    with torch.no_grad():
        kp = b.key_proj(k)
    out.append(("W2_bahdanau_pre", BahdanauPre(b), (q, kp, k), 182272.0, "flops"))
    s = torch.randn(64, 1024)
    out.append(("W9_argmax_64x1024", Argmax(), (s,), 262144.0, "bytes"))
    out.append(("W9_multinomial_64x1024", Multinomial(), (s,), 262144.0, "bytes"))
    for name, m, shape, passes in (("W3_se_64x32x32", SE(64, 4), (1, 64, 32, 32), 3),
                                   ("W3_se_256x14x14", SE(256, 16), (1, 256, 14, 14), 3),
                                   ("W4_cbam_64x32x32", Cbam(64, 4, 7), (1, 64, 32, 32), 4),
                                   ("W5_eca_256x14x14", ECA(256, 5), (1, 256, 14, 14), 3)):
        x = torch.randn(*shape)
        out.append((name, YOnly(m), (x,), passes * 4.0 * x.numel(), "bytes"))
    for hw in (16, 32):
        n = hw * hw
        out.append((f"W6_nonlocal_64x{hw}x{hw}", YOnly(NonLocal(64, 32)), (torch.randn(1, 64, hw, hw),),
                    4.0 * n * n * 32, "flops"))
    s2s = YOnly(Seq2Seq(64, 64, 64, 128, 256, "additive", 256, bos=1, eos=2, max_len=30), "tokens", 0.08)
    with torch.no_grad():
        s2s.m.decoder.out.bias[2] = -1e4  # never stops early: exactly 30 steps
    out.append(("W7_seq2seq_greedy30", s2s, (torch.randint(0, 64, (1, 30)),), 46518272.0, "flops"))
    out.append(("W8_lstm96_attn", YOnly(AttentionForecaster(1, 64, 4, 1), "y", 0.15), (torch.randn(1, 96, 1),),
                8700160.0, "flops"))
    return out
