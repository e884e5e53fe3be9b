#!/usr/bin/env python3
"""Whole-network cases for edgeattn-verify, generated at test time (the
repository stays lean): each network of tools/networks.py exported with
write_model_case at batch 1, and the symbolic dimensions exercised by a
second case of the same file at batch 3 (and another sequence length), and
a third with int8 weights (docs/weights.md) for INT8_NETWORKS.

    gen_model_cases.py OUTDIR [--size N] [--only NAME ...]

--size shrinks the 224x224 torchvision inputs (the emulated ARM runs).
Also writes op_<name>.case.safetensors: one small model per graph op and
option (tools/op_cases.py).
Also writes negative_control.case.safetensors: the SE network's model
file with the expected outputs of the same network whose first SE gate is
forced to 0.5; verify must report a mismatch on it."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch import (ExportError, export_model, read_safetensors, write_model_case,  # noqa: E402
                            write_safetensors)
import networks  # noqa: E402
import op_cases  # noqa: E402


INT8_NETWORKS = {"mobilenet_v3_small", "resnet18_cbam", "bigru_attention", "lstm_mha"}


def example(shape, batch, seq=None):
    s = list(shape)
    if seq is not None:
        s[0] = seq
    return torch.randn(batch, *s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    for name in args.only or networks.NAMES:
        model, shape, dynamic = networks.build(name)
        networks.randomize_norms(model)
        model.eval()
        if shape[1:] == (224, 224):
            shape = (shape[0], args.size, args.size)
        torch.manual_seed(1)
        write_model_case(model, example(shape, 1), f"{args.outdir}/{name}.case.safetensors",
                         dynamic=dynamic)
        seq = shape[0] + 4 if dynamic else None
        write_model_case(model, example(shape, 3, seq), f"{args.outdir}/{name}.b3.case.safetensors",
                         dynamic=dynamic)
        same_model(f"{args.outdir}/{name}.case.safetensors", f"{args.outdir}/{name}.b3.case.safetensors")
        # int8 weights (docs/weights.md): PyTorch on the dequantized weights
        # (not for efficientnet_b0 and the SE CNN: the other networks hold
        # the same node kinds, and every case runs under qemu in CI)
        if name in INT8_NETWORKS:
            torch.manual_seed(1)
            write_model_case(model, example(shape, 1), f"{args.outdir}/{name}.int8.case.safetensors",
                             dynamic=dynamic, weights="int8")
        print(name, "ok")
    if not args.only:
        for name, model, inputs, dynamic in op_cases.cases():
            write_model_case(model.eval(), inputs, f"{args.outdir}/op_{name}.case.safetensors",
                             dynamic=dynamic)
        print("op cases ok")
    negative_control(args.outdir)
    export_errors()


def export_errors():
    """What the runtime lacks fails at export, naming the op and the module."""
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), op_cases.Fn(lambda s, x: x.abs()))

        def forward(self, x):
            return self.inner(x)

    lstm = torch.nn.LSTM(4, 4, batch_first=True)
    mha = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    for model, x, want in [
            (Odd(), torch.randn(1, 3, 4, 4), "op 'abs' called in module 'inner.1'"),
            (op_cases.Fn(lambda s, x: s.a(x, x, x, attn_mask=torch.ones(3, 3) > 0)[0], a=mha),
             torch.randn(1, 3, 4), "attn_mask"),
            (op_cases.Fn(lambda s, x: s.l(torch.nn.utils.rnn.pack_padded_sequence(
                x, torch.tensor([3]), batch_first=True))[1][0], l=lstm), torch.randn(1, 3, 4), "op '_pack_padded_sequence'")]:
        try:
            export_model(model.eval(), x, os.devnull)
        except ExportError as e:
            if want not in str(e):
                raise SystemExit(f"export error without '{want}': {e}")
            continue
        raise SystemExit(f"exporting a model with '{want}' did not fail")
    print("export errors ok")


def same_model(a, b):
    """The two cases carry one model file: the same graph and parameters,
    so verifying both runs one file at two shapes."""
    (ta, ma), (tb, mb) = read_safetensors(a), read_safetensors(b)
    params = [k for k in ta if k.startswith("param.")]
    if ma["config"] != mb["config"] or params != [k for k in tb if k.startswith("param.")] or \
            any(not torch.equal(ta[k], tb[k]) for k in params):
        raise SystemExit(f"{a} and {b} do not carry the same model")


def negative_control(outdir):
    """The SE CNN's file with the outputs of its twin whose first gate is 0.5."""
    model, shape, _ = networks.build("se_cnn")
    twin, _, _ = networks.build("se_cnn_gate_half")
    networks.randomize_norms(model)
    twin.load_state_dict(model.state_dict())
    twin.eval()
    path = f"{outdir}/negative_control.case.safetensors"
    torch.manual_seed(1)
    write_model_case(model, example(shape, 1), path)
    tensors, meta = read_safetensors(path)
    with torch.no_grad():
        tensors["expected.output"] = twin(tensors["input.input"])
    write_safetensors(path, tensors, meta)
    print("negative_control ok")


if __name__ == "__main__":
    main()
