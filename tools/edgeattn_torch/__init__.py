"""The project's PyTorch reference for edgeattn (see docs/modules.md).

Every class here is a torch.nn.Module whose state_dict() keys are those of
docs/modules.md, with `kind` (the registry name) and `config` (its JSON config).

    from edgeattn_torch import SoftAttention, export, write_case
    m = SoftAttention("additive", dq=256, dk=256, attn_hidden=256)
    export(m, "attn.safetensors")                 # a model file for the device
    write_case(m, {"query": q, "keys": k, "values": v}, "attn.case.safetensors")

Then on the device: edgeattn-verify attn.case.safetensors
"""
from .safetensors_io import read_safetensors, write_safetensors
from .attention import HardAttention, MultiheadAttention, SoftAttention
from .export import export, write_case
from .graph import ExportError, export_model, module_file_to_graph, write_model_case
from .rnn import GRU, LSTM
from .seq2seq import AttentionForecaster, Seq2Seq
from .vision import ECA, SE, Cbam, CbamChannel, CbamSpatial, NonLocal, SaganAttention, randomize

__all__ = [
    "SoftAttention", "HardAttention", "MultiheadAttention",
    "GRU", "LSTM", "Seq2Seq", "AttentionForecaster",
    "SE", "ECA", "CbamChannel", "CbamSpatial", "Cbam", "NonLocal", "SaganAttention", "randomize",
    "export", "write_case", "write_safetensors", "read_safetensors",
    "export_model", "write_model_case", "module_file_to_graph", "ExportError",
]
