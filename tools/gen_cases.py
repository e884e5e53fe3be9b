#!/usr/bin/python3
"""Writes the golden parity cases into tests/data/cases/ (committed; CI runs
edgeattn-verify on them without PyTorch). Deterministic: every case seeds
torch from its own number. Run from anywhere:

    /usr/bin/python3 tools/gen_cases.py [--out DIR] [--only PREFIX]

Shapes are chosen to be awkward: odd widths, vector tails, batch > 1,
padding masks, rows with nothing to attend."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch import (ECA, GRU, LSTM, SE, AttentionForecaster, Cbam, CbamChannel, CbamSpatial, HardAttention,  # noqa: E402
                            MultiheadAttention, NonLocal, SaganAttention, Seq2Seq, SoftAttention, randomize,
                            write_case, write_model_case)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def padding_mask(b, lq, lk, lengths, per_query=False, empty_row=None):
    """[B, 1, Lk] (or [B, Lq, Lk]) bool mask, True = may attend."""
    m = torch.zeros(b, lq if per_query else 1, lk, dtype=torch.bool)
    for i, n in enumerate(lengths):
        m[i, :, :n] = True
    if per_query:
        m &= torch.rand(b, lq, lk) < 0.7
        m[:, :, 0] |= True
    if empty_row is not None:
        m[empty_row[0], empty_row[1], :] = False
    return m


def attention_cases():
    # (name, class, score, dims, mask builder, extra)
    yield "soft_dot_b2", SoftAttention("dot"), dict(b=2, lq=3, lk=7, dq=5, dk=5, dv=9), None
    yield "soft_scaled_dot_padded", SoftAttention("scaled_dot"), dict(b=3, lq=17, lk=33, dq=16, dk=16, dv=3), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [33, 20, 1])
    yield "soft_general_rowmask", SoftAttention("general", dq=6, dk=13), dict(b=3, lq=5, lk=11, dq=6, dk=13, dv=7), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [11, 6, 9], per_query=True, empty_row=(1, 2))
    yield "soft_additive_bias", SoftAttention("additive", dq=10, dk=12, attn_hidden=8), \
        dict(b=2, lq=4, lk=9, dq=10, dk=12, dv=5), lambda d: padding_mask(d["b"], d["lq"], d["lk"], [9, 4])
    yield "soft_additive_nobias_decoder", SoftAttention("additive", dq=31, dk=17, attn_hidden=19, bias=False), \
        dict(b=1, lq=1, lk=50, dq=31, dk=17, dv=17), None
    yield "soft_dot_all_masked", SoftAttention("dot"), dict(b=2, lq=2, lk=5, dq=4, dk=4, dv=3), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [5, 0])
    yield "hard_dot_padded", HardAttention("dot"), dict(b=2, lq=6, lk=13, dq=7, dk=7, dv=11), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [13, 5], per_query=True, empty_row=(0, 3))
    yield "hard_additive", HardAttention("additive", dq=9, dk=9, attn_hidden=5), \
        dict(b=1, lq=4, lk=8, dq=9, dk=9, dv=4), None
    yield "hard_general", HardAttention("general", dq=3, dk=8), dict(b=2, lq=3, lk=17, dq=3, dk=8, dv=2), None


# Cases that carry only expected.context: a module asked for no weights may
# take its streaming path (scores never materialised), so these check it.
CONTEXT_ONLY = {"soft_stream_scaled_dot_rowmask", "soft_stream_general_padded", "soft_stream_dot_empty_rows",
                "soft_stream_scaled_dot_L300"}


def stream_cases():
    yield "soft_stream_scaled_dot_rowmask", SoftAttention("scaled_dot"), dict(b=2, lq=19, lk=301, dq=24, dk=24, dv=13), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [301, 257], per_query=True, empty_row=(1, 18))
    yield "soft_stream_general_padded", SoftAttention("general", dq=7, dk=33), dict(b=2, lq=9, lk=40, dq=7, dk=33, dv=5), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [40, 17])
    yield "soft_stream_dot_empty_rows", SoftAttention("dot"), dict(b=2, lq=3, lk=10, dq=4, dk=4, dv=6), \
        lambda d: padding_mask(d["b"], d["lq"], d["lk"], [10, 0])
    yield "soft_stream_scaled_dot_L300", SoftAttention("scaled_dot"), dict(b=1, lq=300, lk=300, dq=64, dk=64, dv=64), None


# Cases rerun with every weight type (bf16, f16, int8), named <case>_<type>:
# PyTorch runs on the dequantized weights, so they keep the default tolerance.
TYPED_CASES = {"soft_general_rowmask", "soft_additive_bias", "hard_additive", "mha_e16_h4_padded",
               "mha_e32_h4_one_query_padded", "gru_bi_l2_h0_lengths", "lstm_bi_l2_h0_lengths",
               "seq2seq_additive_padded", "seq2seq_general_padded", "forecaster_f1_h16", "forecaster_f3_h12_p4",
               "se_c40_7x9_b2", "cbam_c40_7x9_b2", "cbam_channel_c33_r4_bias", "non_local_c40_r20_7x9_b2",
               "sagan_c40_7x9_b2"}


def skip(name, only, weights):
    """Whether this run leaves the case out; else its file name."""
    if weights != "f32":
        if name not in TYPED_CASES:
            return True
        name = f"{name}_{weights}"
    return bool(only) and not name.startswith(only)


def case_file(out, name, weights):
    return os.path.join(out, f"{name}.case.safetensors" if weights == "f32" else f"{name}_{weights}.case.safetensors")


def write_attention(out, only, weights="f32"):
    n = 0
    for i, (name, module, d, mask_fn) in enumerate(list(attention_cases()) + list(stream_cases())):
        if skip(name, only, weights):
            continue
        torch.manual_seed(1000 + i)
        for p in module.parameters():
            torch.nn.init.normal_(p, std=0.5)
        inputs = {"query": rand(d["b"], d["lq"], d["dq"]), "keys": rand(d["b"], d["lk"], d["dk"]),
                  "values": rand(d["b"], d["lk"], d["dv"])}
        if mask_fn:
            inputs["mask"] = mask_fn(d)
        write_case(module, inputs, case_file(out, name, weights),
                   outputs={"context"} if name in CONTEXT_ONLY else None, weights=weights)
        n += 1
    # Self-attention: query = keys = values.
    if weights == "f32" and (not only or "soft_self".startswith(only) or only.startswith("soft_self")):
        torch.manual_seed(77)
        x = rand(2, 67, 20)
        write_case(SoftAttention("scaled_dot"), {"query": x, "keys": x, "values": x},
                   os.path.join(out, "soft_self_scaled_dot_L67.case.safetensors"))
        n += 1
    return n


def write_multihead(out, only, weights="f32"):
    cases = [  # name, E, heads, causal, B, Lq, Lk, padding lengths (None = no mask)
        ("mha_e16_h4_padded", 16, 4, False, 2, 5, 7, [7, 3]),
        ("mha_causal_self_e12_h3", 12, 3, True, 2, 9, 9, None),
        ("mha_e8_h1_fully_padded", 8, 1, False, 2, 3, 6, [6, 0]),
        ("mha_e20_h5_cross", 20, 5, False, 1, 4, 33, [30]),
        ("mha_e32_h4_one_query_padded", 32, 4, False, 2, 1, 45, [45, 17]),
    ]
    n = 0
    for i, (name, e, h, causal, b, lq, lk, lengths) in enumerate(cases):
        if skip(name, only, weights):
            continue
        torch.manual_seed(2000 + i)
        m = MultiheadAttention(e, h, causal=causal)
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.3)
        q = rand(b, lq, e)
        k = q if causal else rand(b, lk, e)
        inputs = {"query": q, "key": k, "value": k if causal else rand(b, lk, e)}
        if lengths is not None:
            kpm = torch.ones(b, lk, dtype=torch.bool)  # True = padding
            for j, length in enumerate(lengths):
                kpm[j, :length] = False
            inputs["key_padding_mask"] = kpm
        write_case(m, inputs, case_file(out, name, weights), weights=weights)
        n += 1
    return n


def vision_cases():
    # name, module, input shape [B, C, H, W], outputs compared (None = all)
    yield "se_c40_7x9_b2", SE(40, 10), (2, 40, 7, 9), None
    yield "se_c24_silu_hard_sigmoid_nobias", SE(24, 6, bias=False, act="silu", gate="hard_sigmoid"), (1, 24, 5, 3), None
    yield "se_efficientnet_names", SE(16, 4, act="silu", efficientnet_names=True), (2, 16, 4, 4), None
    yield "eca_c40_k5_7x9_b2", ECA(40, 5), (2, 40, 7, 9), None
    yield "eca_c13_k3", ECA(13, 3), (1, 13, 1, 17), None
    yield "cbam_channel_c40_r5", CbamChannel(40, 5), (2, 40, 7, 9), None
    yield "cbam_channel_c33_r4_bias", CbamChannel(33, 4, mlp_bias=True), (1, 33, 3, 5), None
    yield "cbam_spatial_k7_c40_7x9", CbamSpatial(7), (2, 40, 7, 9), None
    yield "cbam_spatial_k3_eps1e-3", CbamSpatial(3, bn_eps=1e-3), (1, 3, 5, 4), None
    yield "cbam_c40_7x9_b2", Cbam(40, 5, 7), (2, 40, 7, 9), None
    yield "cbam_c17_k5_bias", Cbam(17, 3, 5, mlp_bias=True), (1, 17, 6, 11), None
    yield "non_local_c40_r20_7x9_b2", NonLocal(40, 20), (2, 40, 7, 9), None
    yield "non_local_stream_c24_r12_noscale", NonLocal(24, 12, use_scale=False), (1, 24, 9, 11), {"y"}
    yield "sagan_c40_7x9_b2", SaganAttention(40), (2, 40, 7, 9), None
    yield "sagan_stream_c16_13x5", SaganAttention(16), (1, 16, 13, 5), {"y"}
    # Maps whose H * W is not a multiple of 16 floats, with and without the
    # maps asked for: the workspace's slices round up to 64 bytes each.
    yield "cbam_spatial_k7_13x10_b2", CbamSpatial(7), (2, 20, 13, 10), None
    yield "cbam_spatial_k7_13x10_y_only", CbamSpatial(7), (2, 20, 13, 10), {"y"}
    yield "cbam_spatial_k3_1x9_y_only", CbamSpatial(3), (1, 5, 1, 9), {"y"}
    yield "cbam_c6_k3_1x9_y_only", Cbam(6, 2, 3), (3, 6, 1, 9), {"y"}


def write_vision(out, only, weights="f32"):
    n = 0
    for i, (name, module, shape, outputs) in enumerate(vision_cases()):
        if skip(name, only, weights):
            continue
        torch.manual_seed(3000 + i)
        randomize(module, std=0.3 if isinstance(module, (NonLocal, SaganAttention)) else 0.5)
        write_case(module, {"x": rand(*shape)}, case_file(out, name, weights), outputs=outputs, weights=weights)
        n += 1
    return n


def rnn_cases():
    # name, class, (input, hidden, layers, bidirectional), (B, T), initial state, lengths
    yield "gru_uni_l1", GRU, (5, 7, 1, False), (2, 6), False, None
    yield "gru_bi_l2_h0_lengths", GRU, (6, 9, 2, True), (3, 8), True, [8, 3, 5]
    yield "gru_bi_l1_lengths", GRU, (4, 17, 1, True), (2, 5), False, [2, 5]
    yield "gru_uni_l2_h0", GRU, (3, 16, 2, False), (1, 11), True, None
    yield "lstm_uni_l1", LSTM, (5, 7, 1, False), (2, 6), False, None
    yield "lstm_bi_l2_h0_lengths", LSTM, (6, 9, 2, True), (3, 8), True, [4, 8, 1]
    yield "lstm_bi_l1", LSTM, (4, 19, 1, True), (1, 9), False, None
    yield "lstm_uni_l2_lengths", LSTM, (3, 12, 2, False), (2, 7), True, [7, 2]


def write_rnn(out, only, weights="f32"):
    n = 0
    for i, (name, cls, (inp, hid, layers, bidi), (b, t), state, lengths) in enumerate(rnn_cases()):
        if skip(name, only, weights):
            continue
        torch.manual_seed(4000 + i)
        m = cls(inp, hid, layers, bidi)
        for p in m.parameters():
            torch.nn.init.uniform_(p, -0.5, 0.5)
        inputs = {"x": rand(b, t, inp)}
        s = (2 if bidi else 1) * layers
        if state:
            inputs["h0"] = rand(s, b, hid) * 0.5
            if cls is LSTM:
                inputs["c0"] = rand(s, b, hid) * 0.5
        if lengths is not None:
            inputs["lengths"] = torch.tensor(lengths, dtype=torch.int64)
        write_case(m, inputs, case_file(out, name, weights), weights=weights)
        n += 1
    return n


def seq2seq_cases():
    # name, attention score, attn_hidden, (Vs, Vt, E, He, Hd), (B, S), src lengths, max_len
    yield "seq2seq_additive", "additive", 11, (13, 17, 6, 5, 9), (1, 7), None, 6
    yield "seq2seq_additive_padded", "additive", 8, (12, 10, 5, 4, 7), (3, 6), [6, 2, 4], 5
    yield "seq2seq_general_padded", "general", None, (9, 11, 4, 6, 5), (2, 5), [3, 5], 4
    yield "seq2seq_dot", "dot", None, (10, 9, 7, 4, 8), (2, 4), None, 5
    yield "seq2seq_scaled_dot_padded", "scaled_dot", None, (10, 9, 7, 3, 6), (2, 6), [6, 1], 4


def write_seq2seq(out, only, weights="f32"):
    n = 0
    for i, (name, score, a, (vs, vt, e, he, hd), (b, s), lengths, t) in enumerate(seq2seq_cases()):
        if skip(name, only, weights):
            continue
        torch.manual_seed(5000 + i)
        m = Seq2Seq(vs, vt, e, he, hd, score, a, bos=1, eos=2, max_len=t)
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.6)
        inputs = {"src": torch.randint(0, vs, (b, s))}
        if lengths is not None:
            inputs["src_lengths"] = torch.tensor(lengths, dtype=torch.int64)
        write_case(m, inputs, case_file(out, name, weights), weights=weights)
        n += 1
    # (the y-only case checks the path that attends from the last state alone)
    for i, (name, f, h, heads, p, b, t) in enumerate([("forecaster_f1_h16", 1, 16, 4, 1, 2, 24),
                                                       ("forecaster_f3_h12_p4", 3, 12, 3, 4, 1, 19),
                                                       ("forecaster_y_only_f2_h8", 2, 8, 2, 3, 3, 13)]):
        if skip(name, only, weights):
            continue
        torch.manual_seed(6000 + i)
        m = AttentionForecaster(f, h, heads, p)
        for q in m.parameters():
            torch.nn.init.normal_(q, std=0.4)
        write_case(m, {"x": rand(b, t, f)}, case_file(out, name, weights),
                   outputs={"y"} if "y_only" in name else None, weights=weights)
        n += 1
    return n


def write_graphs(out, only):
    """Small whole-network cases (docs/model-format.md) for the builds that
    run without PyTorch: the hand-written SE CNN and the BiGRU with bmm
    attention pooling of tools/networks.py, at small sizes (the full
    networks are generated at test time by tools/gen_model_cases.py)."""
    import networks
    n = 0
    for name, shape, dynamic in [("graph_se_cnn", (1, 3, 10, 9), None),
                                 ("graph_bigru_attention", (2, 6, 12), {"input": {0: "batch", 1: "seq"}})]:
        if only and not name.startswith(only):
            continue
        model, _, _ = networks.build(name[len("graph_"):])
        networks.randomize_norms(model)
        torch.manual_seed(7000 + n)
        write_model_case(model.eval(), rand(*shape), os.path.join(out, f"{name}.case.safetensors"),
                         dynamic=dynamic)
        n += 1
    return n


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "data", "cases"))
    ap.add_argument("--only", default="", help="only cases whose name starts with this")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    n = write_graphs(a.out, a.only)
    for weights in ("f32", "bf16", "f16", "int8"):
        n += write_attention(a.out, a.only, weights) + write_multihead(a.out, a.only, weights) + \
            write_vision(a.out, a.only, weights) + write_rnn(a.out, a.only, weights) + \
            write_seq2seq(a.out, a.only, weights)
    print(f"wrote {n} cases to {os.path.normpath(a.out)}")


if __name__ == "__main__":
    main()
