"""seq2seq (GRU encoder-decoder with attention, Bahdanau et al. 2015) and
attention_forecaster (LSTM with self-attention over its states), as
docs/modules.md defines them; state_dict keys are the contract's."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .attention import SoftAttention


class Seq2Seq(nn.Module):
    kind = "seq2seq"

    def __init__(self, src_vocab, tgt_vocab, emb, enc_hidden, dec_hidden, attention="additive",
                 attn_hidden=None, bos=1, eos=2, max_len=30):
        super().__init__()
        self.cfg = {"src_vocab": src_vocab, "tgt_vocab": tgt_vocab, "emb": emb, "enc_hidden": enc_hidden,
                    "dec_hidden": dec_hidden, "attention": attention, "bos": bos, "eos": eos,
                    "max_len": max_len}
        if attention == "additive":
            self.cfg["attn_hidden"] = attn_hidden
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(src_vocab, emb)
        self.encoder.rnn = nn.GRU(emb, enc_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * enc_hidden, dec_hidden)
        self.decoder = nn.Module()
        self.decoder.embedding = nn.Embedding(tgt_vocab, emb)
        self.decoder.attention = SoftAttention(attention, dq=dec_hidden, dk=2 * enc_hidden,
                                               attn_hidden=attn_hidden)
        self.decoder.rnn = nn.GRUCell(emb + 2 * enc_hidden, dec_hidden)
        self.decoder.out = nn.Linear(dec_hidden + 2 * enc_hidden + emb, tgt_vocab)

    @property
    def config(self):
        return dict(self.cfg)

    def encode(self, src, src_lengths=None):
        b, s = src.shape
        e = self.encoder.embedding(src)
        if src_lengths is not None:
            packed = pack_padded_sequence(e, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
            m, h_n = self.encoder.rnn(packed)
            m, _ = pad_packed_sequence(m, batch_first=True, total_length=s)
            mask = torch.arange(s)[None, :] < src_lengths[:, None]
        else:
            m, h_n = self.encoder.rnn(e)
            mask = torch.ones(b, s, dtype=torch.bool)
        state = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], dim=-1)))
        return m, mask[:, None, :], state

    def step(self, y, state, m, mask):
        """One decoder step for tokens y [B]: logits [B, Vt], new state, a [B, S]."""
        e = self.decoder.embedding(y)
        att = self.decoder.attention(state[:, None, :], m, m, mask)
        c, a = att["context"][:, 0], att["weights"][:, 0]
        state = self.decoder.rnn(torch.cat([e, c], dim=-1), state)
        logits = self.decoder.out(torch.cat([state, c, e], dim=-1))
        return logits, state, a

    def forward(self, src, src_lengths=None):
        m, mask, state = self.encode(src, src_lengths)
        y = torch.full((src.shape[0],), self.cfg["bos"], dtype=torch.int64)
        tokens, logits, aligns = [], [], []
        for _ in range(self.cfg["max_len"]):  # exactly max_len greedy steps
            lg, state, a = self.step(y, state, m, mask)
            y = torch.argmax(lg, dim=-1)
            tokens.append(y), logits.append(lg), aligns.append(a)
        return {"tokens": torch.stack(tokens, 1), "logits": torch.stack(logits, 1),
                "alignments": torch.stack(aligns, 1)}


class AttentionForecaster(nn.Module):
    kind = "attention_forecaster"

    def __init__(self, input_size, hidden_size, num_heads, horizon):
        super().__init__()
        self.cfg = {"input_size": input_size, "hidden_size": hidden_size, "num_heads": num_heads,
                    "horizon": horizon}
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.attn = nn.MultiheadAttention(hidden_size, num_heads, batch_first=True)
        self.head = nn.Linear(2 * hidden_size, horizon)

    @property
    def config(self):
        return dict(self.cfg)

    def forward(self, x):
        s, _ = self.lstm(x)
        c, w = self.attn(s, s, s, need_weights=True, average_attn_weights=True)
        y = self.head(torch.cat([s[:, -1], c[:, -1]], dim=-1))
        return {"y": y, "weights": w}
