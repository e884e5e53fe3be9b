"""One small model per graph op and per option it accepts
(docs/model-format.md), written the way PyTorch code calls them (modules,
F. functions, tensor methods, operators), so that each is exported and
verified on its own, not only in the configurations the networks use.
tools/gen_model_cases.py writes them as op_<name>.case.safetensors."""
import torch
from torch import nn
import torch.nn.functional as F


class Fn(nn.Module):
    """A model that is one function of its inputs, with optional layers."""

    def __init__(self, fn, **layers):
        super().__init__()
        self.fn = fn
        for k, v in layers.items():
            setattr(self, k, v)

    def forward(self, *xs):
        return self.fn(self, *xs)


def _bn(c, d=2):
    bn = nn.BatchNorm2d(c) if d == 2 else nn.BatchNorm1d(c)
    bn.running_mean.normal_(0, 0.3)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.normal_(0, 0.3)
    return bn


def cases():
    """(name, model, inputs tuple, dynamic axes or None)."""
    torch.manual_seed(0)
    img = (torch.randn(2, 6, 9, 11),)
    seq = (torch.randn(2, 7, 8),)
    c = []

    def add(name, model, inputs=img, dynamic=None):
        c.append((name, model, inputs, dynamic))

    # activations, each as PyTorch code calls it
    add("relu_inplace", Fn(lambda s, x: F.relu(x * 1.0, inplace=True)))
    add("relu6_module", Fn(lambda s, x: s.a(x * 4), a=nn.ReLU6()))
    add("leaky_relu_slope", Fn(lambda s, x: F.leaky_relu(x, 0.2)))
    add("hardtanh_range", Fn(lambda s, x: F.hardtanh(x, -0.5, 0.7)))
    add("sigmoid_method", Fn(lambda s, x: x.sigmoid()))
    add("tanh_torch", Fn(lambda s, x: torch.tanh(x * 2)))
    add("silu_module", Fn(lambda s, x: s.a(x), a=nn.SiLU()))
    add("hardswish", Fn(lambda s, x: F.hardswish(x * 3)))
    add("hardsigmoid", Fn(lambda s, x: F.hardsigmoid(x * 3)))
    add("gelu_erf", Fn(lambda s, x: F.gelu(x * 2)))
    add("gelu_tanh", Fn(lambda s, x: F.gelu(x * 2, approximate="tanh")))
    add("dropout_identity", Fn(lambda s, x: s.d(x) + 1, d=nn.Dropout(0.3)))
    # arithmetic: broadcasting, scalars on either side, in place
    add("arith_scalars", Fn(lambda s, x: (1 - x) * 2.5 + 3 / (x * x + 1) - x / 4))
    add("arith_broadcast", Fn(lambda s, x: x * x.mean((2, 3), keepdim=True) - x[:, :1] + x[0]))
    add("arith_inplace", Fn(lambda s, x: x.clone().mul_(2).add_(x)))
    add("parameter_used_directly", Fn(lambda s, x: x * s.gamma + s.beta,
                                      gamma=nn.Parameter(torch.randn(6, 1, 1)),
                                      beta=nn.Parameter(torch.randn(11))))
    # reductions and softmax
    add("mean_keepdim", Fn(lambda s, x: x.mean(dim=(1, 3), keepdim=True)))
    add("sum_dim", Fn(lambda s, x: torch.sum(x, 2)))
    add("max_dim_indices", Fn(lambda s, x: torch.max(x, dim=1)))
    add("amax_keepdim", Fn(lambda s, x: x.amax(-1, keepdim=True)))
    add("softmax_dim1", Fn(lambda s, x: F.softmax(x, dim=1)))
    add("log_softmax_last", Fn(lambda s, x: torch.log_softmax(x, -1)))
    # pooling, every option
    add("max_pool_ceil_pad", Fn(lambda s, x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True)))
    add("max_pool_dilation", Fn(lambda s, x: F.max_pool2d(x, 2, 1, dilation=2)))
    add("max_pool_module", Fn(lambda s, x: s.p(x), p=nn.MaxPool2d((2, 3), stride=(1, 2))))
    add("avg_pool_ceil", Fn(lambda s, x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)))
    add("avg_pool_exclude_pad", Fn(lambda s, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)))
    add("avg_pool_divisor", Fn(lambda s, x: F.avg_pool2d(x, 2, divisor_override=3)))
    add("adaptive_avg_uneven", Fn(lambda s, x: F.adaptive_avg_pool2d(x, (4, 3))))
    add("adaptive_avg_1x1", Fn(lambda s, x: s.p(x).flatten(1), p=nn.AdaptiveAvgPool2d(1)))
    # shapes
    add("view_size_exprs", Fn(lambda s, x: x.view(x.size(0), x.size(1) * x.shape[2], -1)))
    add("reshape_squeeze_unsqueeze", Fn(lambda s, x: x.mean(1, keepdim=True).squeeze(1).unsqueeze(-1)))
    add("index_none_ellipsis", Fn(lambda s, x: x[:, 2, None, ..., 1:8:3]))
    add("select_negative", Fn(lambda s, x: x[:, -1] + x[-1, 0]))
    add("permute_transpose", Fn(lambda s, x: x.permute(0, 2, 3, 1).transpose(1, 2).contiguous()))
    add("expand_as", Fn(lambda s, x: x.mean((2, 3)).view(2, 6, 1, 1).expand_as(x) * x))
    add("expand_sizes", Fn(lambda s, x: x[:, :, :1].expand(-1, -1, 4, -1)))
    add("cat_dims", Fn(lambda s, x: torch.cat([x, x * 2, x[:, :2]], dim=1)))
    # layers
    add("conv_depthwise_stride2", Fn(lambda s, x: s.c(x), c=nn.Conv2d(6, 6, 3, 2, 1, groups=6)))
    add("conv_dilation_pad_hw", Fn(lambda s, x: s.c(x), c=nn.Conv2d(6, 4, (3, 2), padding=(2, 1),
                                                                    dilation=2, bias=False)))
    add("conv_groups_same", Fn(lambda s, x: s.c(x), c=nn.Conv2d(6, 9, 3, padding="same", groups=3)))
    add("conv_bn_relu_fold", Fn(lambda s, x: F.relu(s.b(s.c(x))), c=nn.Conv2d(6, 5, 1), b=_bn(5)))
    add("batch_norm_standalone", Fn(lambda s, x: s.b(torch.relu(x)), b=_bn(6)))
    add("conv1d_dilation_groups", Fn(lambda s, x: s.c(x.transpose(1, 2)),
                                     c=nn.Conv1d(8, 4, 3, padding=2, dilation=2, groups=2)), seq)
    add("batch_norm1d", Fn(lambda s, x: s.b(x.transpose(1, 2)), b=_bn(8, 1)), seq)
    add("linear_3d", Fn(lambda s, x: s.l(x), l=nn.Linear(8, 5)), seq)
    add("linear_no_bias", Fn(lambda s, x: s.l(x[:, 0]), l=nn.Linear(8, 3, bias=False)), seq)
    add("matmul_broadcast", Fn(lambda s, x: torch.matmul(x, x[0].transpose(0, 1))), seq)
    add("bmm", Fn(lambda s, x: torch.bmm(x, x.transpose(1, 2)) @ x), seq)
    ids = (torch.randint(0, 20, (2, 5)),)
    add("embedding", Fn(lambda s, t: s.e(t).sum(1), e=nn.Embedding(20, 6)), ids)
    # recurrent and attention layers, each way PyTorch code calls them
    gru = nn.GRU(8, 5, num_layers=2, bidirectional=True)  # sequence first
    add("gru_seq_first_h0", Fn(lambda s, x: s.g(x.transpose(0, 1), s.h0)[0], g=gru,
                               h0=nn.Parameter(torch.randn(4, 2, 5) * 0.3)), seq)
    lstm = nn.LSTM(8, 6, batch_first=True)
    add("lstm_h0_c0", Fn(lambda s, x: s.l(x, (s.h0.expand(1, 2, 6).contiguous(),
                                                s.c0.expand(1, 2, 6).contiguous()))[1][1],
                         l=lstm, h0=nn.Parameter(torch.randn(1, 1, 6)),
                         c0=nn.Parameter(torch.randn(1, 1, 6))), seq)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    mask = (torch.randn(2, 7), torch.tensor([[False] * 5 + [True] * 2, [False] * 7]))
    add("mha_padding_mask_no_weights",
        Fn(lambda s, x, m: s.a(x, x, x, key_padding_mask=m, need_weights=False)[0], a=mha),
        (mask[0].unsqueeze(-1).expand(2, 7, 8).contiguous(), mask[1]))
    return c
