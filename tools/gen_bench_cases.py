#!/usr/bin/python3
"""Writes the benchmark workloads of docs/workloads.md that are one module each
(W1-W8) as case files for edgeattn-bench, into bench/cases/:

    /usr/bin/python3 tools/gen_bench_cases.py
    build/src/edgeattn-bench bench/cases/*.case.safetensors

Each carries only the outputs the workload asks for (context), so modules
may take their fastest path. W1 at L = 4096 (3 MB) and W7 (its 0.8 M
weights, 3.3 MB) are written only with --large and are not committed; the
seq2seq golden cases in tests/data/cases check W7's module."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch import (ECA, SE, AttentionForecaster, Cbam, NonLocal, Seq2Seq, SoftAttention,  # noqa: E402
                            randomize, write_case)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "bench", "cases"))
    ap.add_argument("--large", action="store_true", help="also W1 at L = 4096 and W7")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(3)
    for L in (128, 1024) + ((4096,) if a.large else ()):
        x = torch.randn(1, L, 64)
        write_case(SoftAttention("scaled_dot"), {"query": x, "keys": x, "values": x},
                   os.path.join(a.out, f"W1_sdpa_L{L}_d64.case.safetensors"), outputs={"context"})
    q, k = torch.randn(1, 1, 256), torch.randn(1, 50, 256)
    write_case(SoftAttention("dot"), {"query": q, "keys": k, "values": k},
               os.path.join(a.out, "W2_luong_dot.case.safetensors"), outputs={"context"})
    m = SoftAttention("additive", dq=256, dk=256, attn_hidden=256, bias=False)
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.05)
    write_case(m, {"query": q, "keys": k, "values": k},
               os.path.join(a.out, "W2_bahdanau_full.case.safetensors"), outputs={"context"})
    for name, m, shape in (("W3_se_64x32x32", SE(64, 4), (1, 64, 32, 32)),
                           ("W3_se_256x14x14", SE(256, 16), (1, 256, 14, 14)),
                           ("W4_cbam_64x32x32", Cbam(64, 4, 7), (1, 64, 32, 32)),
                           ("W5_eca_256x14x14", ECA(256, 5), (1, 256, 14, 14)),
                           ("W6_nonlocal_64x16x16", NonLocal(64, 32), (1, 64, 16, 16)),
                           ("W6_nonlocal_64x32x32", NonLocal(64, 32), (1, 64, 32, 32))):
        randomize(m, std=0.2)
        write_case(m, {"x": torch.randn(*shape)}, os.path.join(a.out, f"{name}.case.safetensors"),
                   outputs={"y"})
    # W7: eos (id 2) gets an output bias of -1e4, so greedy decoding never
    # produces it and always runs its 30 steps.
    if a.large:
        s2s = Seq2Seq(64, 64, 64, 128, 256, "additive", 256, bos=1, eos=2, max_len=30)
        randomize(s2s, std=0.08)
        with torch.no_grad():
            s2s.decoder.out.bias[2] = -1e4
        write_case(s2s, {"src": torch.randint(0, 64, (1, 30))},
                   os.path.join(a.out, "W7_seq2seq_greedy30.case.safetensors"), outputs={"tokens"})
    torch.manual_seed(8)  # W8 does not depend on whether W7 was written
    fc = AttentionForecaster(1, 64, 4, 1)
    randomize(fc, std=0.15)
    x = torch.randn(1, 96, 1)
    write_case(fc, {"x": x}, os.path.join(a.out, "W8_lstm96_attn.case.safetensors"), outputs={"y"})
    for weights in ("bf16", "int8"):  # docs/weights.md: PyTorch on the dequantized weights
        write_case(fc, {"x": x}, os.path.join(a.out, f"W8_lstm96_attn_{weights}.case.safetensors"),
                   outputs={"y"}, weights=weights)
    print("wrote workload cases to", os.path.normpath(a.out))


if __name__ == "__main__":
    main()
