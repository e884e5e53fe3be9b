#!/usr/bin/python3
"""Trains the small CBAM classifier of examples/fashion_cbam.cpp on
Fashion-MNIST (Debian's dataset-fashion-mnist, MIT licence, Zalando
Research; gzipped IDX files under /usr/share/datasets/fashion-mnist/) and
exports it with export_model as a whole-network model file
(docs/model-format.md): the graph and weights, the class names and input
normalisation in the metadata, and PyTorch's predictions on the 10,000
test images so that the C++ example proves it reproduces them.

    /usr/bin/python3 tools/train_fashion_cbam.py [--epochs 3] [--out examples/models]
    /usr/bin/python3 tools/train_fashion_cbam.py --reexport   # the shipped weights, no training

One thread (fastest for torch here); about four minutes on the dev VM."""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edgeattn_torch import Cbam, export_model, read_safetensors  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]


def idx(path):
    """An IDX file (LeCun et al.): magic, dims as big-endian u32, u8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FashionCbam(nn.Module):
    """conv3x3(1->16) BN ReLU, maxpool 2 | conv3x3(16->32) BN ReLU, CBAM,
    maxpool 2 | conv3x3(32->64) BN ReLU, global average pool | Linear(64->10)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.cbam = Cbam(32, 8, 7)
        self.conv3, self.bn3 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        a = self.cbam(F.relu(self.bn2(self.conv2(x))))
        x = F.max_pool2d(a["y"], 2)
        x = F.relu(self.bn3(self.conv3(x))).mean((2, 3))
        return self.fc(x), a["spatial_attention"]


def export(model, mean, std, acc, pred, out):
    """The whole network as a graph model file (docs/model-format.md), with
    the class names, the input normalisation and PyTorch's predictions."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "fashion_cbam.safetensors")
    export_model(model.eval(), torch.zeros(1, 1, 28, 28), path,
                 metadata={"classes": json.dumps(CLASSES), "input_mean": repr(mean),
                           "input_std": repr(std), "pytorch_accuracy": repr(acc),
                           "dataset": "Fashion-MNIST (Zalando Research, MIT licence), "
                                      "Debian dataset-fashion-mnist"},
                 tensors={"pytorch.predictions": pred})
    print("wrote", os.path.normpath(path), f"({os.path.getsize(path)} bytes)")


def reexport(out):
    """Re-exports the shipped model's weights (either file layout) as they are."""
    path = os.path.join(out, "fashion_cbam.safetensors")
    tensors, meta = read_safetensors(path)
    state = {k[6:] if k.startswith("param.") else k: v for k, v in tensors.items()
             if k != "pytorch.predictions"}
    model = FashionCbam()
    model.load_state_dict(state)
    export(model, float(meta["input_mean"]), float(meta["input_std"]),
           float(meta["pytorch_accuracy"]), tensors["pytorch.predictions"], out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(here, "..", "examples", "models"))
    ap.add_argument("--reexport", action="store_true")
    a = ap.parse_args()
    if a.reexport:
        return reexport(a.out)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    xtr = torch.from_numpy(idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    ytr = torch.from_numpy(idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    yte = torch.from_numpy(idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    mean, std = float(xtr.mean()), float(xtr.std())
    norm = lambda x: ((x - mean) / std)[:, None]  # noqa: E731
    model = FashionCbam()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    steps = a.epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - 127, 128):
            b = perm[i:i + 128]
            loss = F.cross_entropy(model(norm(xtr[b]))[0], ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(norm(xte[i:i + 500]))[0].argmax(1) for i in range(0, len(xte), 500)])
    acc = float((pred == yte).float().mean())
    print(f"test accuracy (PyTorch): {acc:.4f}; {sum(p.numel() for p in model.parameters())} parameters")
    export(model, mean, std, acc, pred, a.out)


if __name__ == "__main__":
    main()
