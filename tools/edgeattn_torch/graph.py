"""Whole networks as edgeattn graph models (docs/model-format.md).

    export_model(model, example_inputs, path, dynamic=None)
    write_model_case(model, inputs, path)

The graph is captured by running the model once on the example inputs with
every tensor wrapped in a recording subclass (__torch_function__): each
torch function, tensor method and operator the model calls becomes a node,
so models run as their authors wrote them (tuple unpacking, `x.size()`,
in-place activations). torch.nn layers the runtime has (Conv, BatchNorm,
Linear, Embedding, GRU, LSTM, MultiheadAttention) and this package's modules
are leaves: one node each, their parameters under their state_dict prefix.
Sizes read from tensors (`b, c, _, _ = x.size()`) are recorded as
expressions of the tensor's dimensions, so a reshape follows the batch size
at run time. Anything the runtime lacks raises ExportError naming the op and
the module that called it."""
import inspect
import json

import torch
from torch import nn

from .safetensors_io import write_safetensors

FORMAT = {"format": "edgeattn-graph", "version": 1}


class ExportError(RuntimeError):
    pass


# ---- symbolic sizes ---------------------------------------------------------

class SymInt(int):
    """A size read from a traced tensor: its value, and how to compute it."""

    def __new__(cls, value, expr):
        obj = int.__new__(cls, value)
        obj.expr = expr
        return obj

    def _op(self, other, name, reverse=False):
        if not isinstance(other, int) or isinstance(other, bool):
            return NotImplemented
        a, b = (other, self) if reverse else (self, other)
        value = {"add": int(a) + int(b), "sub": int(a) - int(b), "mul": int(a) * int(b),
                 "floordiv": int(a) // int(b) if int(b) else 0}[name]
        return SymInt(value, {name: [_expr(a), _expr(b)]})

    def __add__(self, o): return self._op(o, "add")
    def __radd__(self, o): return self._op(o, "add", True)
    def __sub__(self, o): return self._op(o, "sub")
    def __rsub__(self, o): return self._op(o, "sub", True)
    def __mul__(self, o): return self._op(o, "mul")
    def __rmul__(self, o): return self._op(o, "mul", True)
    def __floordiv__(self, o): return self._op(o, "floordiv")
    def __rfloordiv__(self, o): return self._op(o, "floordiv", True)


def _expr(v):
    return v.expr if isinstance(v, SymInt) else int(v)


class SymSize(tuple):
    def numel(self):
        n = 1
        for d in self:
            n *= int(d)
        return n


# ---- the recording tensor -------------------------------------------------------

_TRACER = None


class Traced(torch.Tensor):
    """A tensor whose operations the active tracer records."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunction():
            result = func(*_unwrap(args), **_unwrap(kwargs))
        if _TRACER is None or _TRACER.suspended:
            return result
        return _TRACER.record(func, args, kwargs, result)


def _unwrap(x):
    if isinstance(x, Traced):
        return x.as_subclass(torch.Tensor)
    if isinstance(x, (list, tuple)) and not isinstance(x, torch.Size):
        return type(x)(_unwrap(v) for v in x) if not hasattr(x, "_fields") else type(x)(*[_unwrap(v) for v in x])
    if isinstance(x, dict):
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _has_tensor(x):
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_tensor(v) for v in x)
    if isinstance(x, dict):
        return any(_has_tensor(v) for v in x.values())
    return False


def _has_sym(x):
    if isinstance(x, SymInt):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_sym(v) for v in x)
    return False


def _bind(args, kwargs, names, defaults=None):
    """args/kwargs as a dict by parameter name (defaults filled in)."""
    out = dict(defaults or {})
    for n, v in zip(names, args):
        out[n] = v
    if len(args) > len(names):
        out["*rest"] = args[len(names):]
    out.update(kwargs)
    return out


def _func_name(func):
    name = getattr(func, "__name__", str(func))
    if name == "__get__":
        return getattr(getattr(func, "__self__", None), "__name__", name)
    return name


_DTYPES = {torch.float32: "f32", torch.int64: "i64", torch.bool: "bool"}


class Tracer:
    def __init__(self, model):
        self.model = model
        self.nodes, self.params = [], {}
        self.suspended = False
        self.count = 0
        self.stack = []  # module paths being run
        self.paths = {id(m): n for n, m in model.named_modules()}
        self.owned = {}
        for n, t in list(model.named_parameters()) + list(model.named_buffers()):
            self.owned[id(t)] = n
        self.consts = {}

    # names and nodes
    def fresh(self):
        self.count += 1
        return f"v{self.count}"

    def where(self):
        return self.stack[-1] if self.stack and self.stack[-1] else "<top>"

    def node(self, op, inputs, config=None, params=None, n_out=1, **extra):
        outs = [self.fresh() for _ in range(n_out)]
        name = f"{self.where()}:{op}:{len(self.nodes)}"
        n = {"name": name, "op": op, "inputs": list(inputs), "outputs": outs,
             "config": config or {}}
        if params is not None:
            n["params"] = params
        n.update(extra)
        self.nodes.append(n)
        return outs if n_out > 1 else outs[0]

    def wrap(self, t, name):
        w = t.as_subclass(Traced)
        w._ea_name = name
        return w

    def value(self, x, what):
        """The graph value of a tensor argument (a constant if not traced)."""
        if isinstance(x, Traced):
            return x._ea_name
        if isinstance(x, torch.Tensor):
            return self.constant(x)
        raise ExportError(f"{what}: expected a tensor, got {type(x).__name__} at {self.where()}")

    def constant(self, t):
        if id(t) in self.consts:
            return self.consts[id(t)]
        if t.dtype != torch.float32:
            raise ExportError(f"a {t.dtype} constant tensor used at {self.where()} (only float32)")
        key = self.owned.get(id(t))
        if key is None:
            key = f"_const.{len(self.consts)}.value"
        prefix, name = key.rsplit(".", 1) if "." in key else ("", key)
        prefix = prefix + "." if prefix else ""
        self.params[key] = t.detach().clone()
        v = self.node("constant", [], {"name": name}, params=prefix)
        self.consts[id(t)] = v
        return v

    def error(self, func_name, why=""):
        return ExportError(f"op '{func_name}' called in module '{self.where()}' "
                           f"(node {len(self.nodes)}) is not supported by the edgeattn runtime"
                           + (f": {why}" if why else ""))

    # recording
    def record(self, func, args, kwargs, result):
        name = _func_name(func)
        if name in ("size", "shape"):
            return self.sizes(args, result)
        handler = _HANDLERS.get(name)
        if handler is None:
            if not _has_tensor(result) and not any(isinstance(a, Traced) for a in args):
                return result
            if not _has_tensor(result):
                return result  # dtype, device, dim(), numel(), ...
            raise self.error(name)
        return handler(self, name, args, kwargs, result)

    def sizes(self, args, result):
        x = args[0]
        if not isinstance(x, Traced):
            return result
        dim = args[1] if len(args) > 1 else None
        if dim is not None:
            d = int(dim)
            return SymInt(result, {"dim": [x._ea_name, d]})
        return SymSize(SymInt(v, {"dim": [x._ea_name, i]}) for i, v in enumerate(result))

    def out(self, result, name, inplace_of=None):
        if inplace_of is not None:
            inplace_of._ea_name = name
            return inplace_of
        return self.wrap(result, name)


# ---- handlers: torch calls -> nodes -----------------------------------------------

_HANDLERS = {}


def handles(*names):
    def reg(f):
        for n in names:
            _HANDLERS[n] = f
        return f
    return reg


def _inplace(name, bound):
    return (name.endswith("_") and not name.endswith("__")) or name.startswith("__i") or \
        bool(bound.get("inplace", False))


_UNARY = {"relu": "relu", "relu_": "relu", "relu6": "relu6", "sigmoid": "sigmoid",
          "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh", "silu": "silu",
          "silu_": "silu", "hardswish": "hardswish", "hardswish_": "hardswish",
          "hardsigmoid": "hardsigmoid", "hardsigmoid_": "hardsigmoid"}


@handles(*_UNARY)
def _unary(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "inplace"])
    v = t.node(_UNARY[name], [t.value(b["input"], name)])
    return t.out(result, v, b["input"] if _inplace(name, b) else None)


@handles("hardtanh", "hardtanh_")
def _hardtanh(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "min_val", "max_val", "inplace"],
              {"min_val": -1.0, "max_val": 1.0})
    v = t.node("hardtanh", [t.value(b["input"], name)],
               {"min_val": float(b["min_val"]), "max_val": float(b["max_val"])})
    return t.out(result, v, b["input"] if _inplace(name, b) else None)


@handles("leaky_relu", "leaky_relu_")
def _leaky(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "negative_slope", "inplace"], {"negative_slope": 0.01})
    v = t.node("leaky_relu", [t.value(b["input"], name)],
               {"negative_slope": float(b["negative_slope"])})
    return t.out(result, v, b["input"] if _inplace(name, b) else None)


@handles("gelu")
def _gelu(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "approximate"], {"approximate": "none"})
    return t.out(result, t.node("gelu", [t.value(b["input"], name)],
                                {"approximate": b["approximate"]}))


@handles("dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "feature_dropout",
         "alpha_dropout", "contiguous", "clone", "detach", "float")
def _identity(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "p", "training", "inplace"], {"training": False})
    if "dropout" in name and b.get("training"):
        raise t.error(name, "dropout in training mode (call model.eval())")
    return t.out(result, t.node("identity", [t.value(b["input"], name)]))


@handles("to", "type_as")
def _to(t, name, args, kwargs, result):
    if result.dtype != torch.float32 or args[0].dtype != torch.float32:
        raise t.error(name, "only float32 stays float32")
    return t.out(result, t.node("identity", [t.value(args[0], name)]))


_ARITH = {"add": "add", "__add__": "add", "__radd__": "add", "__iadd__": "add", "add_": "add",
          "sub": "sub", "__sub__": "sub", "__rsub__": "sub", "__isub__": "sub", "sub_": "sub",
          "rsub": "sub", "mul": "mul", "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul",
          "mul_": "mul", "div": "div", "__truediv__": "div", "__rtruediv__": "div", "__rdiv__": "div", "__div__": "div",
          "__itruediv__": "div", "div_": "div", "true_divide": "div"}


@handles(*_ARITH)
def _arith(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "other"])
    a, o = b["input"], b["other"]
    if b.get("alpha", 1) != 1 or b.get("rounding_mode") is not None:
        raise t.error(name, "alpha / rounding_mode")
    reverse = name.startswith("__r") or name == "rsub"
    if isinstance(o, torch.Tensor) and not isinstance(o, Traced) and o.numel() == 1 and o.dim() == 0:
        o = float(o)
    if isinstance(a, torch.Tensor) and isinstance(o, torch.Tensor):
        x, y = (o, a) if reverse else (a, o)
        v = t.node(_ARITH[name], [t.value(x, name), t.value(y, name)])
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        if _has_sym(o):
            raise t.error(name, "a tensor combined with a size read from a tensor")
        v = t.node(_ARITH[name], [t.value(a, name)], {"scalar": float(o), "reverse": reverse})
    else:
        raise t.error(name, f"operand of type {type(o).__name__}")
    return t.out(result, v, a if _inplace(name, b) else None)


def _dims_list(d):
    if d is None:
        return None
    return [int(d)] if isinstance(d, int) else [int(x) for x in d]


@handles("mean", "sum")
def _reduce(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "dim", "keepdim", "dtype"], {"keepdim": False})
    if b.get("dtype") not in (None, torch.float32):
        raise t.error(name, "dtype")
    cfg = {"keepdim": bool(b["keepdim"])}
    dims = _dims_list(b.get("dim"))
    if dims:
        cfg["dims"] = dims
    return t.out(result, t.node(name, [t.value(b["input"], name)], cfg))


@handles("max", "amax")
def _max(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "dim", "keepdim"], {"keepdim": False})
    dims = _dims_list(b.get("dim"))
    if dims is None or len(dims) != 1 or isinstance(b.get("dim"), torch.Tensor):
        raise t.error(name, "only the maximum along one dim")
    cfg = {"dim": dims[0], "keepdim": bool(b["keepdim"])}
    x = t.value(b["input"], name)
    if name == "amax":
        return t.out(result, t.node("max", [x], cfg))
    values, indices = t.node("max", [x], cfg, n_out=2)
    return type(result)((t.wrap(result[0], values), t.wrap(result[1], indices)))


@handles("softmax", "log_softmax")
def _softmax(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "dim"])
    if b.get("dim") is None:
        raise t.error(name, "dim must be given")
    return t.out(result, t.node(name, [t.value(b["input"], name)], {"dim": int(b["dim"])}))


def _pair(v):
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


@handles("max_pool2d", "max_pool2d_with_indices", "_max_pool2d")
def _max_pool(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                             "return_indices"], {"padding": 0, "dilation": 1, "ceil_mode": False})
    if b.get("return_indices"):
        raise t.error(name, "return_indices")
    cfg = {"kernel_size": _pair(b["kernel_size"]), "padding": _pair(b["padding"]),
           "dilation": _pair(b["dilation"]), "ceil_mode": bool(b["ceil_mode"])}
    if b.get("stride") not in (None, [], ()):
        cfg["stride"] = _pair(b["stride"])
    return t.out(result, t.node("max_pool2d", [t.value(b["input"], name)], cfg))


@handles("avg_pool2d")
def _avg_pool(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "kernel_size", "stride", "padding", "ceil_mode",
                             "count_include_pad", "divisor_override"],
              {"padding": 0, "ceil_mode": False, "count_include_pad": True})
    cfg = {"kernel_size": _pair(b["kernel_size"]), "padding": _pair(b["padding"]),
           "ceil_mode": bool(b["ceil_mode"]), "count_include_pad": bool(b["count_include_pad"])}
    if b.get("stride") not in (None, [], ()):
        cfg["stride"] = _pair(b["stride"])
    if b.get("divisor_override"):
        cfg["divisor_override"] = int(b["divisor_override"])
    return t.out(result, t.node("avg_pool2d", [t.value(b["input"], name)], cfg))


@handles("adaptive_avg_pool2d")
def _adaptive(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "output_size"])
    if b["input"].dim() != 4:
        raise t.error(name, "input must be [B, C, H, W]")
    return t.out(result, t.node("adaptive_avg_pool2d", [t.value(b["input"], name)],
                                {"output_size": [int(result.shape[2]), int(result.shape[3])]}))


def _sizes(args, kwargs, *keys):
    """The sizes after the tensor, given as varargs (x.view(2, 3)) or as one
    sequence (x.view((2, 3)), x.view(shape=...))."""
    if len(args) > 2 or (len(args) == 2 and isinstance(args[1], int)):
        return args[1:]
    if len(args) == 2:
        return args[1]
    return next(kwargs[k] for k in keys if k in kwargs)


def _dim_exprs(x):
    return [{"dim": [x._ea_name, i]} for i in range(x.dim())]


def _reshape(t, x, shape_exprs, result):
    return t.out(result, t.node("reshape", [x._ea_name], {"shape": shape_exprs}))


@handles("view", "reshape")
def _view(t, name, args, kwargs, result):
    x = args[0]
    shape = _sizes(args, kwargs, "shape", "size")
    if isinstance(shape, torch.dtype):
        raise t.error(name, "view as another dtype")
    if not isinstance(x, Traced):
        raise t.error(name, "view of a constant")
    return _reshape(t, x, [_expr(s) for s in shape], result)


@handles("flatten")
def _flatten(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "start_dim", "end_dim"], {"start_dim": 0, "end_dim": -1})
    x = b["input"]
    r = x.dim()
    s, e = b["start_dim"] % max(r, 1), b["end_dim"] % max(r, 1)
    ex = _dim_exprs(x)
    return _reshape(t, x, ex[:s] + [-1] + ex[e + 1:], result)


@handles("squeeze", "unsqueeze")
def _squeeze(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "dim"])
    x = b["input"]
    ex = _dim_exprs(x)
    if name == "unsqueeze":
        d = b["dim"] % (x.dim() + 1)
        ex.insert(d, 1)
    else:
        dims = [b["dim"] % x.dim()] if b.get("dim") is not None else \
            [i for i in range(x.dim()) if x.shape[i] == 1]
        ex = [e for i, e in enumerate(ex) if not (i in dims and x.shape[i] == 1)]
    return _reshape(t, x, ex, result)


@handles("permute")
def _permute(t, name, args, kwargs, result):
    dims = _sizes(args, kwargs, "dims")
    return t.out(result, t.node("permute", [t.value(args[0], name)], {"dims": [int(d) for d in dims]}))


@handles("transpose", "t", "swapaxes")
def _transpose(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "dim0", "dim1"], {"dim0": 0, "dim1": 1})
    x = b["input"]
    dims = list(range(x.dim()))
    if x.dim() < 2:
        return t.out(result, t.node("identity", [t.value(x, name)]))
    d0, d1 = b["dim0"] % x.dim(), b["dim1"] % x.dim()
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return t.out(result, t.node("permute", [t.value(x, name)], {"dims": dims}))


@handles("expand", "expand_as")
def _expand(t, name, args, kwargs, result):
    x = args[0]
    if name == "expand_as":
        other = args[1] if len(args) > 1 else kwargs["other"]
        shape = _dim_exprs(other) if isinstance(other, Traced) else [int(s) for s in other.shape]
    else:
        shape = [_expr(s) for s in _sizes(args, kwargs, "size")]
    return t.out(result, t.node("expand", [t.value(x, name)], {"shape": shape}))


@handles("cat", "concat")
def _cat(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["tensors", "dim"], {"dim": 0})
    return t.out(result, t.node("concat", [t.value(v, name) for v in b["tensors"]],
                                {"dim": int(b["dim"])}))


@handles("bmm", "matmul", "__matmul__")
def _matmul(t, name, args, kwargs, result):
    b = _bind(args, kwargs, ["input", "other"])
    if b["input"].dim() < 2 or b["other"].dim() < 2:
        raise t.error(name, "operands of rank 1")
    return t.out(result, t.node("matmul", [t.value(b["input"], name), t.value(b["other"], name)]))


@handles("__getitem__")
def _getitem(t, name, args, kwargs, result):
    x, index = args[0], args[1]
    if not isinstance(index, tuple):
        index = (index,)
    if any(isinstance(i, torch.Tensor) or isinstance(i, list) for i in index):
        raise t.error(name, "indexing with tensors or lists")
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise t.error(name, "more than one ...")
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.dim() - n_real) + index[at + 1:]
    cur, axis = t.value(x, name), 0
    shape = list(x.shape)
    for i in index:
        if i is None:
            ex = [{"dim": [cur, d]} for d in range(len(shape))]
            ex.insert(axis, 1)
            cur = t.node("reshape", [cur], {"shape": ex})
            shape.insert(axis, 1)
            axis += 1
        elif isinstance(i, int):
            cur = t.node("select", [cur], {"dim": axis, "index": int(i)})
            shape.pop(axis)
        elif isinstance(i, slice):
            if i.step is not None and i.step < 1:
                raise t.error(name, "slice steps below 1")
            if (i.start, i.stop, i.step) != (None, None, None):
                big = 1 << 62
                cfg = {"dim": axis, "start": max(-big, min(big, int(i.start or 0))),
                       "end": big if i.stop is None else max(-big, min(big, int(i.stop))),
                       "step": int(i.step or 1)}
                cur = t.node("slice", [cur], cfg)
                shape[axis] = len(range(*i.indices(shape[axis])))
            axis += 1
        else:
            raise t.error(name, f"index of type {type(i).__name__}")
    if cur == x._ea_name:
        cur = t.node("identity", [cur])
    return t.wrap(result, cur)


# ---- leaves: torch.nn layers and this package's modules ----------------------------

def _leaf_node(t, module, args, kwargs, result):
    path = t.paths.get(id(module), "?")
    prefix = path + "." if path else ""
    x = args[0] if args else next(iter(kwargs.values()))
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        if module.padding_mode != "zeros":
            raise t.error(type(module).__name__, "padding_mode " + module.padding_mode)
        pad = module.padding
        if isinstance(pad, str):
            k = module.kernel_size
            if pad == "valid":
                pad = [0] * len(k)
            elif any((d * (kk - 1)) % 2 for d, kk in zip(module.dilation, k)):
                raise t.error(type(module).__name__, "padding='same' that is not symmetric")
            else:
                pad = [d * (kk - 1) // 2 for d, kk in zip(module.dilation, k)]
        cfg = {"stride": list(module.stride), "padding": list(pad),
               "dilation": list(module.dilation), "groups": module.groups,
               "bias": module.bias is not None}
        op = "conv2d" if isinstance(module, nn.Conv2d) else "conv1d"
        return t.wrap(result, t.node(op, [t.value(x, op)], cfg, params=prefix))
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.training or module.running_mean is None or not module.affine:
            raise t.error("batch_norm", "needs eval mode, running statistics and affine")
        return t.wrap(result, t.node("batch_norm", [t.value(x, "batch_norm")],
                                     {"eps": float(module.eps)}, params=prefix))
    if isinstance(module, nn.Linear):
        return t.wrap(result, t.node("linear", [t.value(x, "linear")],
                                     {"bias": module.bias is not None}, params=prefix))
    if isinstance(module, nn.Embedding):
        return t.wrap(result, t.node("embedding", [t.value(x, "embedding")], params=prefix))
    if isinstance(module, (nn.GRU, nn.LSTM)):
        return _rnn_node(t, module, prefix, args, kwargs, result)
    if isinstance(module, nn.MultiheadAttention):
        return _mha_node(t, module, prefix, args, kwargs, result)
    return _registry_node(t, module, prefix, args, kwargs, result)


def _to_batch_first(t, v, batch_first):
    return v if batch_first else t.node("permute", [v], {"dims": [1, 0, 2]})


def _rnn_node(t, m, prefix, args, kwargs, result):
    lstm = isinstance(m, nn.LSTM)
    op = "lstm" if lstm else "gru"
    if not m.bias or getattr(m, "proj_size", 0):
        raise t.error(op, "bias=False or proj_size")
    b = _bind(args, kwargs, ["input", "hx"])
    x = b["input"]
    if not isinstance(x, Traced) or x.dim() != 3:
        raise t.error(op, "input must be a [B, T, I] tensor (packed sequences are not exported)")
    ins, names = [_to_batch_first(t, x._ea_name, m.batch_first)], ["x"]
    hx = b.get("hx")
    if hx is not None:
        h0, c0 = hx if lstm else (hx, None)
        ins.append(t.value(h0, op)), names.append("h0")
        if lstm:
            ins.append(t.value(c0, op)), names.append("c0")
    outs = ["output", "h_n"] + (["c_n"] if lstm else [])
    cfg = {"input_size": m.input_size, "hidden_size": m.hidden_size,
           "num_layers": m.num_layers, "bidirectional": m.bidirectional}
    vals = t.node(op, ins, cfg, params=prefix, n_out=len(outs), input_names=names,
                  output_names=outs)
    out = t.wrap(result[0], _to_batch_first(t, vals[0], m.batch_first))
    h_n = t.wrap(result[1][0] if lstm else result[1], vals[1])
    if lstm:
        return (out, (h_n, t.wrap(result[1][1], vals[2])))
    return (out, h_n)


def _mha_node(t, m, prefix, args, kwargs, result):
    b = _bind(args, kwargs, ["query", "key", "value", "key_padding_mask", "need_weights",
                             "attn_mask", "average_attn_weights"],
              {"need_weights": True, "average_attn_weights": True})
    if b.get("attn_mask") is not None or b.get("is_causal"):
        raise t.error("multihead_attention", "attn_mask (only key_padding_mask is exported)")
    if not m._qkv_same_embed_dim or m.in_proj_bias is None or m.bias_k is not None or m.add_zero_attn:
        raise t.error("multihead_attention", "kdim/vdim, bias=False, add_bias_kv or add_zero_attn")
    if b["need_weights"] and not b["average_attn_weights"]:
        raise t.error("multihead_attention", "per-head weights (average_attn_weights=False)")
    bf = m.batch_first
    ins = [_to_batch_first(t, t.value(b[k], "multihead_attention"), bf)
           for k in ("query", "key", "value")]
    names = ["query", "key", "value"]
    if b.get("key_padding_mask") is not None:
        ins.append(t.value(b["key_padding_mask"], "multihead_attention"))
        names.append("key_padding_mask")
    outs = ["output"] + (["weights"] if b["need_weights"] else [])
    cfg = {"embed_dim": m.embed_dim, "num_heads": m.num_heads}
    vals = t.node("multihead_attention", ins, cfg, params=prefix, n_out=len(outs),
                  input_names=names, output_names=outs)
    vals = vals if isinstance(vals, list) else [vals]
    out = t.wrap(result[0], _to_batch_first(t, vals[0], bf))
    return (out, t.wrap(result[1], vals[1]) if b["need_weights"] else None)


def _registry_node(t, m, prefix, args, kwargs, result):
    bound = inspect.signature(m.forward).bind(*args, **kwargs)
    names, ins = [], []
    for k, v in bound.arguments.items():
        if v is None:
            continue
        names.append(k)
        ins.append(t.value(v, m.kind))
    keys = [k for k, v in result.items() if isinstance(v, torch.Tensor)]
    vals = t.node(m.kind, ins, m.config, params=prefix, n_out=len(keys), input_names=names,
                  output_names=keys)
    vals = vals if isinstance(vals, list) else [vals]
    return {k: t.wrap(result[k], v) for k, v in zip(keys, vals)}


def _is_leaf(m):
    return isinstance(m, (nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.Linear,
                          nn.Embedding, nn.GRU, nn.LSTM, nn.MultiheadAttention)) or \
        (hasattr(m, "kind") and hasattr(m, "config"))


# ---- capture ------------------------------------------------------------------------

def _named_inputs(example_inputs):
    if isinstance(example_inputs, dict):
        return dict(example_inputs), True
    if isinstance(example_inputs, torch.Tensor):
        return {"input": example_inputs}, False
    return {f"input{i}": v for i, v in enumerate(example_inputs)}, False


def _named_outputs(result):
    if isinstance(result, torch.Tensor):
        return {"output": result}
    if isinstance(result, dict):
        return dict(result)
    if isinstance(result, (tuple, list)):
        return {f"output{i}": v for i, v in enumerate(result)}
    raise ExportError(f"the model returns a {type(result).__name__}, not tensors")


class _Whole(nn.Module):
    """A registry module exported alone: a graph of one node."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


def capture(model, example_inputs, dynamic=None):
    """Runs the model once, recording it. Returns (graph dict, params dict)."""
    global _TRACER
    model.eval()
    if _is_leaf(model):
        graph, params = capture(_Whole(model), example_inputs, dynamic)
        for n in graph["nodes"]:  # the keys as the module's own state_dict has them
            if n.get("params", "").startswith("module."):
                n["params"] = n["params"][len("module."):]
        return graph, {k[len("module."):] if k.startswith("module.") else k: v
                       for k, v in params.items()}
    named, as_kwargs = _named_inputs(example_inputs)
    dynamic = {k: {0: "batch"} for k in named} if dynamic is None else dynamic
    t = Tracer(model)
    inputs, specs = {}, []
    for k, v in named.items():
        if v.dtype not in _DTYPES:
            raise ExportError(f"input '{k}': dtype {v.dtype} (float32, int64 or bool)")
        inputs[k] = t.wrap(v, k)
        syms = dynamic.get(k, {})
        specs.append({"name": k, "dtype": _DTYPES[v.dtype],
                      "shape": [syms.get(i, int(s)) for i, s in enumerate(v.shape)]})
    original_call = nn.Module.__call__

    def call(module, *args, **kwargs):
        if t.suspended or _TRACER is not t:
            return original_call(module, *args, **kwargs)
        if _is_leaf(module) and module is not model:
            t.suspended = True
            try:
                result = original_call(module, *_unwrap(args), **_unwrap(kwargs))
            finally:
                t.suspended = False
            t.stack.append(t.paths.get(id(module), "?"))
            try:
                return _leaf_node(t, module, args, kwargs, result)
            finally:
                t.stack.pop()
        t.stack.append(t.paths.get(id(module), "?"))
        try:
            return original_call(module, *args, **kwargs)
        finally:
            t.stack.pop()

    _TRACER = t
    nn.Module.__call__ = call
    try:
        with torch.no_grad():
            result = model(**inputs) if as_kwargs else model(*inputs.values())
    finally:
        nn.Module.__call__ = original_call
        _TRACER = None
    outputs = []
    for k, v in _named_outputs(result).items():
        if not isinstance(v, Traced):
            raise ExportError(f"output '{k}' does not depend on the inputs")
        outputs.append({"name": k, "value": v._ea_name})
    _prune(t.nodes, outputs)
    for n in t.nodes:
        if "params" in n and n["op"] != "constant":
            for k, v in model.state_dict(keep_vars=False).items():
                if k.startswith(n["params"]):
                    t.params[k] = v
    graph = dict(FORMAT, inputs=specs, nodes=t.nodes, outputs=outputs)
    return graph, t.params


def _prune(nodes, outputs):
    """Drops nodes nothing reads, and module outputs nothing reads (a
    module's optional outputs cost time)."""
    used = {o["value"] for o in outputs}
    keep = []
    for n in reversed(nodes):
        read = [o for o in n["outputs"] if o in used]
        if not read:
            continue
        if "output_names" in n:
            pairs = [(v, nm) for v, nm in zip(n["outputs"], n["output_names"]) if v in used]
            n["outputs"], n["output_names"] = [p[0] for p in pairs], [p[1] for p in pairs]
        used.update(n["inputs"])
        for sub in _expr_values(n.get("config", {})):
            used.add(sub)
        keep.append(n)
    nodes[:] = reversed(keep)


def _expr_values(cfg):
    if isinstance(cfg, dict):
        if "dim" in cfg and isinstance(cfg["dim"], list) and cfg["dim"] and isinstance(cfg["dim"][0], str):
            yield cfg["dim"][0]
        for v in cfg.values():
            yield from _expr_values(v)
    elif isinstance(cfg, list):
        for v in cfg:
            yield from _expr_values(v)


def _typed_graph(graph, params, weights, meta):
    """The param.* tensors of a captured graph with its typed nodes' weight
    matrices as `weights` (docs/weights.md), the dequantized state, and
    meta with the weights' metadata added."""
    from .weights import graph_typed, typed_tensors

    files, rounded, kept = typed_tensors(params, weights, graph_typed(graph))
    if weights != "f32":
        meta = dict(meta, weights=weights, weights_f32=",".join(kept))
    return files, rounded, meta


def export_model(model, example_inputs, path, dynamic=None, metadata=None, tensors=None, weights="f32"):
    """Writes the model as one file for edgeattn-run / edgeattn::Model.
    example_inputs: a tensor (input "input"), a tuple (input0, input1, ...)
    or a dict of named tensors (the model is called with them as keywords).
    dynamic: {input: {axis: symbol}}; default: axis 0 of every input is
    "batch". metadata and tensors: extra entries for the application (class
    names, test data), stored beside the model. weights: "f32", "bf16",
    "f16" or "int8" for the weight matrices of the nodes the device holds
    typed (docs/weights.md)."""
    graph, params = capture(model, example_inputs, dynamic)
    meta = dict(metadata or {}, module="graph", config=json.dumps(graph, separators=(",", ":")))
    files, _, meta = _typed_graph(graph, params, weights, meta)
    write_safetensors(path, dict(tensors or {}, **files), meta)
    return graph


def write_model_case(model, inputs, path, dynamic=None, atol=1e-5, rtol=1e-4, max_atol=1e-4,
                     max_rtol=1e-3, weights="f32"):
    """A case file for edgeattn-verify: the model, the inputs and what
    PyTorch computes. The model also runs in float64; when float32's own
    error there exceeds the default tolerance, the case records the wider
    one it needs (never beyond max_atol / max_rtol). Refuses outputs so
    small that a runtime returning zeros would pass. With typed weights
    PyTorch runs a copy of the model on their dequantized values."""
    import copy
    model.eval()
    graph, params = capture(model, inputs, dynamic)
    files, rounded, typed_meta = _typed_graph(graph, params, weights, {})
    if weights != "f32":
        model = copy.deepcopy(model)
        missing, unexpected = model.load_state_dict(rounded, strict=False)
        if unexpected:
            raise ExportError(f"parameters {unexpected} are not the model's")
    named, as_kwargs = _named_inputs(inputs)
    with torch.no_grad():
        got = _named_outputs(model(**named) if as_kwargs else model(*named.values()))
        m64 = copy.deepcopy(model).double()
        n64 = {k: v.double() if v.is_floating_point() else v for k, v in named.items()}
        ref = _named_outputs(m64(**n64) if as_kwargs else m64(*n64.values()))
    worst = 0.0
    for k, v in got.items():
        if v.is_floating_point():
            if v.abs().max().item() < 1000 * atol:
                raise ExportError(f"output '{k}' is at most {v.abs().max().item():.3g} in size: "
                                  f"a runtime returning zeros would pass (randomise the weights)")
            excess = ((v.double() - ref[k]).abs() - rtol * ref[k].abs()).max().item()
            worst = max(worst, excess)
    if worst > atol:
        atol = min(max_atol, 2 * worst)
        rtol = max_rtol if atol >= max_atol else rtol
    tensors = files
    for k, v in named.items():
        tensors["input." + k] = v
    for k, v in got.items():
        tensors["expected." + k] = v
    meta = dict(typed_meta, module="graph", config=json.dumps(graph, separators=(",", ":")),
                atol=repr(float(atol)), rtol=repr(float(rtol)), float32_vs_float64=repr(float(worst)))
    write_safetensors(path, tensors, meta)
    return got


def module_file_to_graph(path, inputs, outputs, out_path=None):
    """Rewrites a single-module model file (module = a registry name) as a
    graph of one node, keeping its weights, other tensors and metadata, so
    that edgeattn::Model and edgeattn-run take it like any network.
    inputs: {name: (dtype, shape)} with symbols allowed in shapes;
    outputs: the module outputs the graph gives (docs/modules.md)."""
    from .safetensors_io import read_safetensors
    tensors, meta = read_safetensors(path)
    kind = meta["module"]
    if kind == "graph":
        raise ExportError(f"{path} is already a graph")
    node = {"name": kind, "op": kind, "inputs": list(inputs), "input_names": list(inputs),
            "outputs": [f"{kind}.{o}" for o in outputs], "output_names": list(outputs),
            "params": "", "config": json.loads(meta["config"])}
    graph = dict(FORMAT, inputs=[{"name": k, "dtype": d, "shape": list(s)}
                                 for k, (d, s) in inputs.items()],
                 nodes=[node], outputs=[{"name": o, "value": f"{kind}.{o}"} for o in outputs])
    meta = dict(meta, module="graph", config=json.dumps(graph, separators=(",", ":")))
    write_safetensors(out_path or path, tensors, meta)
    return graph
