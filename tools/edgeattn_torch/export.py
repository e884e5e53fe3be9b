"""Model files and case files (docs/case-format.md)."""
import json

import torch

from .safetensors_io import write_safetensors


def _metadata(module, atol=None, rtol=None):
    meta = {"module": module.kind, "config": json.dumps(module.config)}
    if atol is not None:
        meta["atol"] = repr(float(atol))
    if rtol is not None:
        meta["rtol"] = repr(float(rtol))
    return meta


def _params(module):
    return {"param." + k: v.detach().float() if v.is_floating_point() else v.detach()
            for k, v in module.state_dict().items()}


def export(module, path):
    """Writes the module's weights and config as a model file for the device."""
    write_safetensors(path, _params(module), _metadata(module))


def write_case(module, inputs, path, atol=None, rtol=None, outputs=None):
    """Runs module(**inputs) in eval mode and writes params, inputs and the
    outputs it produced (all, or only the names in `outputs`)."""
    module.eval()
    with torch.no_grad():
        result = module(**inputs)
    tensors = _params(module)
    for k, v in inputs.items():
        if v is not None:
            tensors["input." + k] = v
    for k, v in result.items():
        if outputs is None or k in outputs:
            tensors["expected." + k] = v
    write_safetensors(path, tensors, _metadata(module, atol, rtol))
    return result
