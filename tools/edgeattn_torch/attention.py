"""Attention cores: soft_attention, hard_attention, multihead_attention
(docs/modules.md). Rows in which nothing may be attended give zero weights and a
zero context (PyTorch's own softmax gives NaN there)."""
import math

import torch
from torch import nn


class _Scores(nn.Module):
    """The four scores of docs/modules.md; parameter names are binding."""

    def __init__(self, score, dq=None, dk=None, attn_hidden=None, bias=True):
        super().__init__()
        self.score, self.bias = score, bias
        if score == "general":
            self.linear_in = nn.Linear(dq, dk, bias=False)
        elif score == "additive":
            self.query_proj = nn.Linear(dq, attn_hidden, bias=bias)
            self.key_proj = nn.Linear(dk, attn_hidden, bias=False)
            self.v = nn.Linear(attn_hidden, 1, bias=False)
        elif score not in ("dot", "scaled_dot"):
            raise ValueError(score)

    def scores(self, query, keys):
        if self.score == "dot":
            return query @ keys.transpose(1, 2)
        if self.score == "scaled_dot":
            return query @ keys.transpose(1, 2) / math.sqrt(keys.shape[-1])
        if self.score == "general":
            return self.linear_in(query) @ keys.transpose(1, 2)
        q = self.query_proj(query).unsqueeze(2)  # [B, Lq, 1, A]
        k = self.key_proj(keys).unsqueeze(1)     # [B, 1, Lk, A]
        return self.v(torch.tanh(q + k)).squeeze(-1)

    def config(self):
        c = {"score": self.score}
        if self.score == "additive":
            c["bias"] = self.bias
        return c

    @staticmethod
    def allowed(mask, s):
        return torch.ones_like(s, dtype=torch.bool) if mask is None else mask.bool().expand_as(s)


class SoftAttention(_Scores):
    kind = "soft_attention"

    @property
    def config(self):
        return _Scores.config(self)

    def forward(self, query, keys, values, mask=None):
        s = self.scores(query, keys)
        allowed = self.allowed(mask, s)
        w = torch.softmax(s.masked_fill(~allowed, float("-inf")), dim=-1)
        w = torch.where(allowed.any(-1, keepdim=True), w, torch.zeros_like(w))
        return {"context": w @ values, "weights": w}


class HardAttention(_Scores):
    kind = "hard_attention"

    @property
    def config(self):
        return dict(_Scores.config(self), mode="argmax")

    def forward(self, query, keys, values, mask=None):
        s = self.scores(query, keys)
        allowed = self.allowed(mask, s)
        idx = torch.argmax(s.masked_fill(~allowed, float("-inf")), dim=-1)  # first maximum
        empty = ~allowed.any(-1)
        idx = torch.where(empty, torch.full_like(idx, -1), idx)
        ctx = torch.gather(values, 1, idx.clamp(min=0).unsqueeze(-1).expand(-1, -1, values.shape[-1]))
        ctx = torch.where(empty.unsqueeze(-1), torch.zeros_like(ctx), ctx)
        return {"indices": idx, "context": ctx}


class MultiheadAttention(nn.MultiheadAttention):
    """torch.nn.MultiheadAttention(E, h, batch_first=True) with an optional
    causal mask; state_dict keys are PyTorch's own."""

    kind = "multihead_attention"

    def __init__(self, embed_dim, num_heads, causal=False):
        super().__init__(embed_dim, num_heads, bias=True, batch_first=True)
        self.causal = causal

    @property
    def config(self):
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "causal": self.causal}

    def forward(self, query, key, value, key_padding_mask=None):
        lq, lk = query.shape[1], key.shape[1]
        attn_mask = None
        if self.causal:
            attn_mask = torch.ones(lq, lk, dtype=torch.bool).triu(1)  # True = may not attend
        out, w = super().forward(query, key, value, key_padding_mask=key_padding_mask,
                                 attn_mask=attn_mask, need_weights=True,
                                 average_attn_weights=True)
        allowed = torch.ones(query.shape[0], lq, lk, dtype=torch.bool)
        if key_padding_mask is not None:
            allowed &= ~key_padding_mask.bool().unsqueeze(1)
        if attn_mask is not None:
            allowed &= ~attn_mask
        empty = ~allowed.any(-1, keepdim=True)  # PyTorch: NaN; edgeattn: zero attention
        w = torch.where(empty, torch.zeros_like(w), w)
        out = torch.where(empty, self.out_proj.bias.expand_as(out), out)
        return {"output": out, "weights": w}
