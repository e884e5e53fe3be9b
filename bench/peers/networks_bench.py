#!/usr/bin/python3
"""Times the whole networks of the side-by-side table in PyTorch (eager,
eager with channels_last, and frozen TorchScript) with the timing rule of
docs/workloads.md, and exports them to ONNX (with their inputs) for ONNX
Runtime. The weights are those of tools/gen_model_cases.py (same builders,
same seeds), so edgeattn's bench_networks runs the same networks.
Usage: networks_bench.py THREADS [ONNX_DIR]"""
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
sys.path.insert(0, here)
import networks  # noqa: E402
from torch_bench import timed  # noqa: E402
from edgeattn_torch import read_safetensors  # noqa: E402
from train_fashion_cbam import FashionCbam  # noqa: E402

NETWORKS = ["mobilenet_v3_small", "efficientnet_b0", "resnet18_cbam"]


def fashion():
    tensors, _ = read_safetensors(os.path.join(here, "..", "..", "examples", "models",
                                               "fashion_cbam.safetensors"))
    m = FashionCbam()
    m.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("param.")})
    return m.eval(), torch.randn(1, 1, 28, 28)


def built():
    for name in NETWORKS:
        model, shape, _ = networks.build(name)
        networks.randomize_norms(model)
        yield name, model.eval(), torch.randn(1, *shape)
    m, x = fashion()
    yield "fashion_cbam", m, x
    # one ReLU on one number: what a call costs beyond its work (edgeattn's
    # counterpart is bench_networks' graph_overhead/nodes:1)
    yield "overhead_relu", torch.nn.ReLU(), torch.randn(1, 1, 1, 1)


class FirstOutput(torch.nn.Module):  # ONNX and TorchScript want tensors out
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return y[0] if isinstance(y, tuple) else y


def main():
    threads = int(sys.argv[1])
    onnx_dir = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(threads)
    for name, model, x in built():
        model = FirstOutput(model).eval()
        with torch.no_grad():
            frozen = torch.jit.freeze(torch.jit.trace(model, x, check_trace=False))
            last = model.to(memory_format=torch.channels_last)
            xl = x.contiguous(memory_format=torch.channels_last)
            for kind, fn in (("torch_eager_channels_last", lambda: last(xl)),
                             ("torch_jit_frozen", lambda: frozen(x))):
                med, mn = timed(fn)
                print(f"network/{name} {kind} threads={threads} median_us={med:.3f} min_us={mn:.3f}",
                      flush=True)
            model = model.to(memory_format=torch.contiguous_format)
            med, mn = timed(lambda: model(x))
            print(f"network/{name} torch_eager threads={threads} median_us={med:.3f} min_us={mn:.3f}",
                  flush=True)
            if onnx_dir and threads == 1:
                torch.onnx.export(model, (x,), os.path.join(onnx_dir, f"network_{name}.onnx"),
                                  input_names=["in0"], output_names=["out"], opset_version=13)
                with open(os.path.join(onnx_dir, f"network_{name}.in0.json"), "w") as f:
                    json.dump({"shape": list(x.shape), "data": x.flatten().tolist(),
                               "dtype": "float32"}, f)


if __name__ == "__main__":
    main()
