"""Model files and case files (docs/case-format.md)."""
import copy
import json

import torch

from .safetensors_io import write_safetensors
from .weights import typed_params


def _metadata(module, atol=None, rtol=None, weights="f32", kept=()):
    meta = {"module": module.kind, "config": json.dumps(module.config)}
    if atol is not None:
        meta["atol"] = repr(float(atol))
    if rtol is not None:
        meta["rtol"] = repr(float(rtol))
    if weights != "f32":
        meta["weights"] = weights
        meta["weights_f32"] = ",".join(kept)  # matrices the device keeps in float32
    return meta


def export(module, path, weights="f32"):
    """Writes the module's weights and config as a model file for the device,
    its weight matrices as `weights` ("f32", "bf16", "f16" or "int8")."""
    files, _, kept = typed_params(module.kind, module.state_dict(), weights)
    write_safetensors(path, files, _metadata(module, weights=weights, kept=kept))


def write_case(module, inputs, path, atol=None, rtol=None, outputs=None, weights="f32"):
    """Runs module(**inputs) in eval mode and writes params, inputs and the
    outputs it produced (all, or only the names in `outputs`). With typed
    weights the module runs on their dequantized values (module is left as
    it was), so the case checks the device's arithmetic."""
    files, rounded, kept = typed_params(module.kind, module.state_dict(), weights)
    run = copy.deepcopy(module)
    run.load_state_dict(rounded)
    run.eval()
    with torch.no_grad():
        result = run(**inputs)
    tensors = files
    for k, v in inputs.items():
        if v is not None:
            tensors["input." + k] = v
    for k, v in result.items():
        if outputs is None or k in outputs:
            tensors["expected." + k] = v
    write_safetensors(path, tensors, _metadata(module, atol, rtol, weights, kept))
    return result
