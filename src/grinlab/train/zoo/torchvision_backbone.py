"""Optional ImageNet backbones from torchvision (not a dependency): registered as lazy builders.

``pretrained=True`` asks torchvision for its ImageNet weights, which torchvision downloads on the
user's machine. Grey input is handled by summing the first conv's RGB filters into one channel
(the same response to a grey image). The classifier is replaced by ``head``.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import GrinlabError
from . import register

NEEDS = "needs torchvision: pip install torch==2.14.1 torchvision==0.29.1 (or any matching pair)"


class TorchvisionNet(nn.Module):
    def __init__(self, body: nn.Module, num_features: int, num_classes: int):
        super().__init__()
        self.body = body
        self.num_features = num_features
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(num_features, num_classes))

    def blocks(self) -> list[nn.Module]:
        return list(self.body.children())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _tv():
    try:
        import torchvision.models as tvm
    except Exception as exc:  # missing, or a torchvision built for another torch
        raise GrinlabError(f"{NEEDS} ({type(exc).__name__}: {exc})") from None
    return tvm


def _adapt_first_conv(conv: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    if in_chans == conv.in_channels:
        return conv
    new = nn.Conv2d(
        in_chans, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None
    )
    with torch.no_grad():
        w = conv.weight.sum(dim=1, keepdim=True)
        new.weight.copy_(w.repeat(1, in_chans, 1, 1) / in_chans)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


@register(
    "torchvision_resnet18",
    "torchvision ResNet-18 (ImageNet weights with pretrained=True); 11M params",
    (64, 64),
    3,
)
def tv_resnet18(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    tvm = _tv()
    m = tvm.resnet18(weights="IMAGENET1K_V1" if pretrained else None)
    m.conv1 = _adapt_first_conv(m.conv1, in_chans)
    body = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4, m.avgpool)
    return TorchvisionNet(body, 512, num_classes)


@register(
    "torchvision_mobilenet_v3_small",
    "torchvision MobileNetV3-Small (ImageNet with pretrained=True); 1.5M",
    (64, 64),
    3,
)
def tv_mobilenet_v3_small(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    tvm = _tv()
    m = tvm.mobilenet_v3_small(weights="IMAGENET1K_V1" if pretrained else None)
    m.features[0][0] = _adapt_first_conv(m.features[0][0], in_chans)
    body = nn.Sequential(*m.features, m.avgpool)
    return TorchvisionNet(body, 576, num_classes)


@register(
    "torchvision_efficientnet_b0",
    "torchvision EfficientNet-B0 (ImageNet with pretrained=True); 4M",
    (64, 64),
    3,
)
def tv_efficientnet_b0(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    tvm = _tv()
    m = tvm.efficientnet_b0(weights="IMAGENET1K_V1" if pretrained else None)
    m.features[0][0] = _adapt_first_conv(m.features[0][0], in_chans)
    body = nn.Sequential(*m.features, m.avgpool)
    return TorchvisionNet(body, 1280, num_classes)
