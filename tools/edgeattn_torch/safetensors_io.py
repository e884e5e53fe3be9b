"""A minimal safetensors writer/reader (the official format: 8-byte
little-endian header length, JSON header, raw little-endian data), so the
tools need nothing beyond torch."""
import json
import struct

import torch

_DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8",
    torch.float64: "F64",
}
_FROM_NAME = {v: k for k, v in _DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: torch.Tensor}; metadata: {str: str}."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} not supported")
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""  # 0-dim too
        if t.dtype == torch.bool:
            data = t.to(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns ({name: torch.Tensor}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base, out = 8 + n, {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dtype = _FROM_NAME[e["dtype"]]
        buf = bytearray(raw[base + b:base + end])
        if dtype == torch.bool:
            t = torch.frombuffer(buf, dtype=torch.uint8).bool() if buf else torch.zeros(0, dtype=torch.bool)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if buf else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta
