"""CNN attention (docs/modules.md): se, eca, cbam_channel, cbam_spatial, cbam,
non_local, sagan_attention. Parameter names are timm's (SEModule, EcaModule,
ChannelAttn, SpatialAttn, CbamModule, NonLocalAttn), so a timm checkpoint's
state_dict loads into these, and their exports into edgeattn, unchanged.
Every forward returns y and the attention map(s) edgeattn can return."""
import torch
from torch import nn
import torch.nn.functional as F


def randomize(module, std=0.5):
    """Random weights, and BatchNorm statistics far from the identity, so
    that golden cases and workloads exercise the BatchNorm fold."""
    for p in module.parameters():
        nn.init.normal_(p, std=std)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.3)
            m.running_var.uniform_(0.5, 2.0)
    return module


def _act(name):
    return {"relu": nn.ReLU(), "silu": nn.SiLU()}[name]


def _gate(name, x):
    return torch.sigmoid(x) if name == "sigmoid" else F.relu6(x + 3.0) / 6.0


class SE(nn.Module):
    """timm SEModule (names fc1/fc2), or EfficientNet's SqueezeExcite names
    (conv_reduce/conv_expand) with efficientnet_names=True."""

    kind = "se"

    def __init__(self, channels, rd_channels, bias=True, act="relu", gate="sigmoid",
                 efficientnet_names=False):
        super().__init__()
        self.channels, self.rd_channels, self.bias, self.act_name, self.gate = \
            channels, rd_channels, bias, act, gate
        names = ("conv_reduce", "conv_expand") if efficientnet_names else ("fc1", "fc2")
        self.names = names
        setattr(self, names[0], nn.Conv2d(channels, rd_channels, 1, bias=bias))
        setattr(self, names[1], nn.Conv2d(rd_channels, channels, 1, bias=bias))
        self.act = _act(act)

    @property
    def config(self):
        return {"channels": self.channels, "rd_channels": self.rd_channels, "bias": self.bias,
                "act": self.act_name, "gate": self.gate}

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = getattr(self, self.names[1])(self.act(getattr(self, self.names[0])(s)))
        a = _gate(self.gate, s)
        return {"y": x * a, "attention": a.flatten(1)}


class ECA(nn.Module):
    kind = "eca"

    def __init__(self, channels, kernel_size):
        super().__init__()
        self.channels, self.kernel_size = channels, kernel_size
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    @property
    def config(self):
        return {"channels": self.channels, "kernel_size": self.kernel_size}

    def forward(self, x):
        d = x.mean((2, 3)).view(x.shape[0], 1, -1)
        a = torch.sigmoid(self.conv(d)).view(x.shape[0], -1)
        return {"y": x * a[:, :, None, None], "attention": a}


class CbamChannel(nn.Module):
    kind = "cbam_channel"

    def __init__(self, channels, rd_channels, mlp_bias=False):
        super().__init__()
        self.channels, self.rd_channels, self.mlp_bias = channels, rd_channels, mlp_bias
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=mlp_bias)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=mlp_bias)

    @property
    def config(self):
        return {"channels": self.channels, "rd_channels": self.rd_channels, "mlp_bias": self.mlp_bias}

    def weights(self, x):
        avg = self.fc2(self.act(self.fc1(x.mean((2, 3), keepdim=True))))
        mx = self.fc2(self.act(self.fc1(x.amax((2, 3), keepdim=True))))
        return torch.sigmoid(avg + mx)

    def forward(self, x):
        a = self.weights(x)
        return {"y": x * a, "attention": a.flatten(1)}


class _ConvBn(nn.Module):
    """timm ConvNormAct without the activation: keys conv.weight, bn.*."""

    def __init__(self, k, eps):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(1, eps=eps)

    def forward(self, x):
        return self.bn(self.conv(x))


class CbamSpatial(nn.Module):
    kind = "cbam_spatial"

    def __init__(self, kernel_size=7, bn_eps=1e-5):
        super().__init__()
        self.kernel_size, self.bn_eps = kernel_size, bn_eps
        self.conv = _ConvBn(kernel_size, bn_eps)

    @property
    def config(self):
        return {"kernel_size": self.kernel_size, "bn_eps": self.bn_eps}

    def weights(self, x):
        m = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(m))

    def forward(self, x):
        s = self.weights(x)
        return {"y": x * s, "attention": s}


class Cbam(nn.Module):
    kind = "cbam"

    def __init__(self, channels, rd_channels, kernel_size=7, mlp_bias=False, bn_eps=1e-5):
        super().__init__()
        self.channel = CbamChannel(channels, rd_channels, mlp_bias)
        self.spatial = CbamSpatial(kernel_size, bn_eps)

    @property
    def config(self):
        return dict(self.channel.config, kernel_size=self.spatial.kernel_size,
                    bn_eps=self.spatial.bn_eps)

    def forward(self, x):
        a = self.channel.weights(x)
        xc = x * a
        s = self.spatial.weights(xc)
        return {"y": xc * s, "channel_attention": a.flatten(1), "spatial_attention": s}


class NonLocal(nn.Module):
    """timm NonLocalAttn (embedded Gaussian); scale uses the input channels."""

    kind = "non_local"

    def __init__(self, channels, rd_channels, use_scale=True, bn_eps=1e-5):
        super().__init__()
        self.channels, self.rd_channels, self.use_scale, self.bn_eps = channels, rd_channels, use_scale, bn_eps
        self.scale = channels ** -0.5 if use_scale else 1.0
        self.t = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.p = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.g = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.z = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.norm = nn.BatchNorm2d(channels, eps=bn_eps)

    @property
    def config(self):
        return {"channels": self.channels, "rd_channels": self.rd_channels,
                "use_scale": self.use_scale, "bn_eps": self.bn_eps}

    def forward(self, x):
        b, _, h, w = x.shape
        t = self.t(x).flatten(2).transpose(1, 2)   # [B, N, R]
        p = self.p(x).flatten(2)                   # [B, R, N]
        g = self.g(x).flatten(2).transpose(1, 2)   # [B, N, R]
        a = F.softmax(torch.bmm(t, p) * self.scale, dim=2)
        o = torch.bmm(a, g).transpose(1, 2).reshape(b, self.rd_channels, h, w)
        return {"y": self.norm(self.z(o)) + x, "attention": a}


class SaganAttention(nn.Module):
    kind = "sagan_attention"

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.query_conv = nn.Conv2d(channels, channels // 8, 1)
        self.key_conv = nn.Conv2d(channels, channels // 8, 1)
        self.value_conv = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    @property
    def config(self):
        return {"channels": self.channels}

    def forward(self, x):
        b, c, h, w = x.shape
        q = self.query_conv(x).flatten(2).transpose(1, 2)  # [B, N, C/8]
        k = self.key_conv(x).flatten(2)                    # [B, C/8, N]
        a = F.softmax(torch.bmm(q, k), dim=-1)
        v = self.value_conv(x).flatten(2)                  # [B, C, N]
        o = torch.bmm(v, a.transpose(1, 2)).view(b, c, h, w)
        return {"y": self.gamma * o + x, "attention": a}
