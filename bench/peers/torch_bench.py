#!/usr/bin/python3
"""Times the attention workloads in PyTorch eager and torch.jit traced, with
the timing rule of docs/workloads.md, and exports them to ONNX for ONNX Runtime.
Usage: torch_bench.py THREADS [ONNX_DIR] [NAME_PREFIX]"""
import json
import os
import statistics
import sys
import time

import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import cases  # noqa: E402


def timed(fn):
    t0, n = time.perf_counter(), 0
    while n < 5 or time.perf_counter() - t0 < 0.3:  # warm-up
        fn()
        n += 1
    t_call = (time.perf_counter() - t0) / n
    iters = int(min(max(1.5 / t_call, 25), 5000))
    us = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        us.append((time.perf_counter() - t) * 1e6)
    return statistics.median(us), min(us)


def main():
    threads = int(sys.argv[1])
    onnx_dir = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    prefix = sys.argv[3] if len(sys.argv) > 3 else ""
    torch.set_num_threads(threads)
    for name, module, inputs, _, _ in cases():
        if not name.startswith(prefix):
            continue
        module.eval()
        with torch.no_grad():
            with warnings.catch_warnings():  # sampling is not deterministic: no trace check
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(module, inputs, check_trace=False)
            for kind, m in (("torch_eager", module), ("torch_jit", traced)):
                med, mn = timed(lambda: m(*inputs))
                print(f"{name} {kind} threads={threads} median_us={med:.3f} min_us={mn:.3f}", flush=True)
            # torch.multinomial has no ONNX export that samples the same way.
            if onnx_dir and threads == 1 and "multinomial" not in name:
                names = [f"in{i}" for i in range(len(inputs))]
                # MultiheadAttention's eval fast path (_native_multi_head_attention)
                # has no ONNX export; with dropout 0 its training path is the same math.
                for sub in module.modules():
                    if isinstance(sub, torch.nn.MultiheadAttention):
                        sub.train()
                torch.onnx.export(module, inputs, os.path.join(onnx_dir, name + ".onnx"),
                                  input_names=names, output_names=["out"], opset_version=13,
                                  training=torch.onnx.TrainingMode.PRESERVE)
                module.eval()
                for n, t in zip(names, inputs):  # the same inputs for ONNX Runtime
                    with open(os.path.join(onnx_dir, f"{name}.{n}.json"), "w") as f:
                        json.dump({"shape": list(t.shape), "data": t.flatten().tolist(),
                                   "dtype": "int64" if t.dtype == torch.int64 else "float32"}, f)


if __name__ == "__main__":
    main()
