#!/usr/bin/env python3
"""Whole-network cases for edgeattn-verify, generated at test time (the
repository stays lean): each network of tools/networks.py exported with
write_model_case at batch 1, and the symbolic dimensions exercised by a
second case of the same file at batch 3 (and another sequence length).

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
from edgeattn_torch import read_safetensors, write_model_case, write_safetensors  # noqa: E402
import networks  # noqa: E402
import op_cases  # noqa: E402


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
        print(name, "ok")
    if not args.only:
        for name, model, inputs, dynamic in op_cases.cases():
            write_model_case(model.eval(), inputs, f"{args.outdir}/op_{name}.case.safetensors",
                             dynamic=dynamic)
        print("op cases ok")
    negative_control(args.outdir)


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
