"""Networks the whole-model tests export: two from torchvision, and four
written here the way users write them (tuple unpacking, x.size(), view,
expand_as, bmm, nn.MultiheadAttention). Weights are random; BatchNorm
statistics and affine parameters are randomised too, since torchvision's
defaults make the outputs vanish (a runtime returning zeros would pass)."""
import torch
import torchvision
from torch import nn
import torch.nn.functional as F

from edgeattn_torch import Cbam


def randomize_norms(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 1.0)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.2)
    return model


class HandSE(nn.Module):
    """Squeeze-and-excitation as tutorials write it."""

    def __init__(self, c, r=4):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, c // r), nn.Linear(c // r, c)

    def forward(self, x):
        b, c, _, _ = x.size()
        y = x.mean(dim=(2, 3)).view(b, c)
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(b, c, 1, 1)
        return x * y.expand_as(x)


class SmallSECNN(nn.Module):
    def __init__(self, classes=10, force_gate=None):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.se1 = HandSE(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.se2 = HandSE(32)
        self.head = nn.Linear(32, classes)
        self.force_gate = force_gate

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.se1(x) if self.force_gate is None else x * self.force_gate
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = self.se2(x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ResNet18Cbam(nn.Module):
    """torchvision's resnet18 with a CBAM block (this package's, a leaf)
    after each stage."""

    def __init__(self, classes=10):
        super().__init__()
        r = torchvision.models.resnet18(num_classes=classes)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
        self.stages = nn.ModuleList([r.layer1, r.layer2, r.layer3, r.layer4])
        self.cbams = nn.ModuleList([Cbam(c, c // 16, 7) for c in (64, 128, 256, 512)])
        self.fc = r.fc

    def forward(self, x):
        x = self.stem(x)
        for stage, cbam in zip(self.stages, self.cbams):
            x = cbam(stage(x))["y"]
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class BiGRUAttnClassifier(nn.Module):
    """BiGRU over a sequence, attention pooling by bmm, a Linear head."""

    def __init__(self, features=12, hidden=24, classes=5):
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * hidden, 1)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        out, _ = self.gru(x)
        w = torch.softmax(self.score(out).squeeze(-1), dim=1)
        pooled = torch.bmm(w.unsqueeze(1), out).squeeze(1)
        return self.head(pooled), w


class LstmMhaClassifier(nn.Module):
    """An LSTM encoder, self-attention (nn.MultiheadAttention, sequence
    first), the last step classified."""

    def __init__(self, features=10, hidden=32, heads=4, classes=3):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=2, batch_first=True)
        self.mha = nn.MultiheadAttention(hidden, heads)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        h, (h_n, c_n) = self.lstm(x)
        s = h.transpose(0, 1)
        a, _ = self.mha(s, s, s)
        return self.head(a[-1] + h_n[-1])


def build(name, seed=0):
    """(model, example input, dynamic axes) for a network of the tests."""
    torch.manual_seed(seed)
    if name == "mobilenet_v3_small":
        return torchvision.models.mobilenet_v3_small(), (3, 224, 224), None
    if name == "efficientnet_b0":
        return torchvision.models.efficientnet_b0(), (3, 224, 224), None
    if name == "resnet18_cbam":
        return ResNet18Cbam(), (3, 64, 64), None
    if name == "se_cnn":
        return SmallSECNN(), (3, 28, 28), None
    if name == "se_cnn_gate_half":
        return SmallSECNN(force_gate=0.5), (3, 28, 28), None
    if name == "bigru_attention":
        return BiGRUAttnClassifier(), (17, 12), {"input": {0: "batch", 1: "seq"}}
    if name == "lstm_mha":
        return LstmMhaClassifier(), (9, 10), {"input": {0: "batch", 1: "seq"}}
    raise KeyError(name)


NAMES = ["mobilenet_v3_small", "efficientnet_b0", "resnet18_cbam", "se_cnn", "bigru_attention",
         "lstm_mha"]
