#!/usr/bin/python3
"""Writes the fuzz seeds that reproduce the hostile-input findings (no
PyTorch needed: each is a golden case or a hand-made header, edited).
Run from anywhere: /usr/bin/python3 tests/fuzz/make_seeds.py"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "data", "cases")


def image(header, data=b""):
    h = header if isinstance(header, bytes) else header.encode()
    return struct.pack("<Q", len(h)) + h + data


def split(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def edited_case(name, edit):
    header, data = split(os.path.join(CASES, name))
    edit(header)
    return image(json.dumps(header), data)


def set_config(key, value):
    def edit(h):
        c = json.loads(h["__metadata__"]["config"])
        c[key] = value
        h["__metadata__"]["config"] = json.dumps(c)
    return edit



SEEDS = {
    # max_len 10^9: gigabytes of outputs from a small file (refused by the plan cap)
    "seq2seq_max_len_1e9": lambda: edited_case("seq2seq_additive.case.safetensors", set_config("max_len", 10**9)),
    # a float where an integer is required
    "eca_kernel_size_float": lambda: edited_case("eca_c13_k3.case.safetensors", set_config("kernel_size", 3.0)),
    "shape_float": lambda: image('{"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', bytes(8)),
    "offsets_float": lambda: image('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8e0]}}', bytes(8)),
    # control characters in a tensor name and a module name
    "control_chars": lambda: image('{"x\\u001b[2K\\rforged ok\\n":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}',
                                   bytes(8)),
    "module_name_newline": lambda: image('{"__metadata__":{"module":"evil\\n ok","config":"{}"}}'),
    # the integer limit exactly
    "channels_2_31": lambda: edited_case("se_c40_7x9_b2.case.safetensors", set_config("channels", 2**31)),
    # a case with inputs but nothing to compare
    "no_expected": lambda: image(
        '{"__metadata__":{"module":"soft_attention","config":"{\\"score\\":\\"dot\\"}"},'
        '"input.query":{"dtype":"F32","shape":[1,1,2],"data_offsets":[0,8]}}', bytes(8)),
}


def main():
    out = os.path.join(HERE, "seeds")
    for name, make in SEEDS.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(make())
    print(f"wrote {len(SEEDS)} seeds to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
