"""Recurrent layers (docs/modules.md: gru, lstm): torch.nn.GRU / torch.nn.LSTM
with batch_first=True, their state_dict keys unchanged, and lengths with
pack_padded_sequence semantics (outputs past a length are 0)."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class _Rnn:
    def config_of(self):
        return {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "bidirectional": self.bidirectional}

    def run(self, x, state, lengths):
        t = x.shape[1]
        if lengths is not None:
            x = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = super().forward(x, state)
        if lengths is not None:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        return out, state


class GRU(_Rnn, nn.GRU):
    kind = "gru"

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False):
        nn.GRU.__init__(self, input_size, hidden_size, num_layers, batch_first=True,
                        bidirectional=bidirectional)

    @property
    def config(self):
        return self.config_of()

    def forward(self, x, h0=None, lengths=None):
        out, h_n = self.run(x, h0, lengths)
        return {"output": out, "h_n": h_n}


class LSTM(_Rnn, nn.LSTM):
    kind = "lstm"

    def __init__(self, input_size, hidden_size, num_layers=1, bidirectional=False):
        nn.LSTM.__init__(self, input_size, hidden_size, num_layers, batch_first=True,
                         bidirectional=bidirectional)

    @property
    def config(self):
        return self.config_of()

    def forward(self, x, h0=None, c0=None, lengths=None):
        state = None if h0 is None else (h0, c0 if c0 is not None else torch.zeros_like(h0))
        out, (h_n, c_n) = self.run(x, state, lengths)
        return {"output": out, "h_n": h_n, "c_n": c_n}
