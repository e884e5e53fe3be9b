"""Weight matrices in fewer bits, exactly as the device holds them
(docs/weights.md): bfloat16 and IEEE half rounded to nearest even, int8
symmetric per row with scale = max|row| / 127 in float32 and
q = round(w / scale) (half to even), value = q * scale."""
import torch

from .graph import ExportError

WEIGHT_TYPES = ("f32", "bf16", "f16", "int8")
# Modules whose weight matrices the device holds in any weight type.
TYPED_MODULES = {"soft_attention", "hard_attention", "multihead_attention", "gru", "lstm", "seq2seq",
                 "attention_forecaster", "se", "eca", "cbam_channel", "cbam_spatial", "cbam", "non_local",
                 "sagan_attention", "conv2d", "conv1d", "linear"}


def is_matrix(name, t):
    """A weight matrix the device stores typed: float, at least 2-D, more
    than one row and one column (embedding tables included: seq2seq widens
    a token's row as it looks it up)."""
    return t.is_floating_point() and t.dim() >= 2 and t.shape[0] > 1 and t[0].numel() > 1


def int8_rows(w):
    """(q int8 of w's shape, scale float32 [rows])."""
    rows = w.detach().float().reshape(w.shape[0], -1)
    amax = rows.abs().amax(dim=1)
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    q = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(w.shape), scale


def stored(name, w, weights):
    """{file key: tensor} storing w as `weights`, and its dequantized float32."""
    w = w.detach().float()
    if weights == "bf16":
        s = w.to(torch.bfloat16)
        return {name: s}, s.float()
    if weights == "f16":
        s = w.half()
        if not torch.isfinite(s).all():
            raise ExportError(f"{name}: a value overflows f16 (|w| >= 65520); use bf16 or int8")
        return {name: s}, s.float()
    if weights == "int8":
        q, scale = int8_rows(w)
        return {name: q, name + ".scale": scale}, (q.reshape(w.shape[0], -1).float() * scale[:, None]).reshape(w.shape)
    return {name: w}, w


def typed_tensors(state, weights, typed=lambda key: True):
    """The file's param.* tensors for a state_dict-like {key: tensor} with
    the matrices under keys typed(key) accepts stored as `weights`, the
    dequantized state (what to run PyTorch with) and the float matrices
    kept as float32 (listed in the metadata)."""
    if weights not in WEIGHT_TYPES:
        raise ExportError(f"weights must be one of {', '.join(WEIGHT_TYPES)}, not {weights!r}")
    files, rounded, kept = {}, {}, []
    for k, v in state.items():
        v = v.detach()
        if weights != "f32" and typed(k) and is_matrix(k, v):
            f, r = stored("param." + k, v, weights)
            files.update(f)
            rounded[k] = r
            continue
        if v.is_floating_point() and v.dim() >= 2:
            kept.append(k)
        files["param." + k] = v.float() if v.is_floating_point() else v
        rounded[k] = v
    return files, rounded, kept


def typed_params(kind, state, weights):
    """typed_tensors for a module of registry name `kind`."""
    if weights != "f32" and kind not in TYPED_MODULES:
        raise ExportError(f"module {kind}: weights={weights} is not supported yet "
                          f"(typed modules: {', '.join(sorted(TYPED_MODULES))})")
    return typed_tensors(state, weights)


def graph_typed(graph):
    """typed(key) for a graph: the parameters of the nodes the device holds
    typed (TYPED_MODULES), by their nodes' prefixes."""
    prefixes = [n["params"] for n in graph["nodes"] if n["op"] in TYPED_MODULES and "params" in n]
    return lambda key: any(key.startswith(p) for p in prefixes)


def typed_file(src, dst, weights):
    """Writes a copy of the model file `src` (a module or a graph) with the
    weight matrices of its typed modules stored as `weights`; everything else
    (other nodes' parameters, test data, metadata) as it was, the float
    matrices kept listed in the metadata's weights_f32. Returns that list."""
    import json

    from .safetensors_io import read_safetensors, write_safetensors

    tensors, meta = read_safetensors(src)
    if meta.get("weights", "f32") != "f32":
        raise ExportError(f"{src}: already holds {meta['weights']} weights")
    if meta["module"] == "graph":
        typed = graph_typed(json.loads(meta["config"]))
    elif meta["module"] in TYPED_MODULES:
        typed = lambda key: True  # noqa: E731
    else:
        raise ExportError(f"{src}: module {meta['module']}: weights={weights} is not supported yet")
    params = {k[len("param."):]: v for k, v in tensors.items() if k.startswith("param.")}
    out, _, kept = typed_tensors(params, weights, typed)
    out.update({k: v for k, v in tensors.items() if not k.startswith("param.")})
    write_safetensors(dst, out, dict(meta, weights=weights, weights_f32=",".join(sorted(kept))))
    return kept



def param_bytes(path):
    """The bytes of a model file's param.* tensors (its weights, not the
    test data stored beside them)."""
    from .safetensors_io import read_safetensors

    tensors, _ = read_safetensors(path)
    return sum(t.numel() * t.element_size() for k, t in tensors.items() if k.startswith("param."))
