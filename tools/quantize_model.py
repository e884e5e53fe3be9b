#!/usr/bin/env python3
"""A copy of a model file with its weight matrices as bf16, f16 or int8
(docs/weights.md), e.g. the int8 models shipped beside the examples':

    tools/quantize_model.py examples/models/dates_seq2seq.safetensors \\
        examples/models/dates_seq2seq.int8.safetensors --weights int8

Matrices of nodes the device does not hold typed yet stay float32 and are
listed in the file's metadata (weights_f32)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch.weights import WEIGHT_TYPES, param_bytes, typed_file  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--weights", required=True, choices=WEIGHT_TYPES[1:])
    a = ap.parse_args()
    kept = typed_file(a.src, a.dst, a.weights)
    before, after = param_bytes(a.src), param_bytes(a.dst)
    print(f"wrote {a.dst} ({a.weights}); kept in float32: {', '.join(kept) or 'none'}; "
          f"param.* bytes {before} -> {after} ({after / before:.3f}x)")


if __name__ == "__main__":
    main()
