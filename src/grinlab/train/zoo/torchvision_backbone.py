"""Optional ImageNet backbones from torchvision (not a dependency): registered as lazy builders that
import torchvision only when called.

``pretrained=True`` asks torchvision for its ImageNet weights, which torchvision downloads on the
user's machine (into ``$TORCH_HOME/hub/checkpoints``). Grey input is handled by summing the first
conv's RGB filters into one channel, which gives the same response to a grey image as the RGB net
gives to that image repeated three times. The ImageNet classifier is dropped and replaced by ``head``.

Zoo contract: ``blocks()`` are torchvision's stages (ResNet: stem, layer1..layer4; MobileNet and
EfficientNet: the entries of ``features``); ``head`` = flatten + linear on the pooled features.
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import GrinlabError
from .registry import register


def _needs_message() -> str:
    # torchvision 0.N pairs with torch 2.(N-15); name the pair for the torch installed here.
    major_minor = torch.__version__.split("+")[0].split(".")[:2]
    tv = f"0.{int(major_minor[1]) + 15}" if major_minor[0] == "2" else "<matching>"
    return (
        f"needs torchvision: pip install torch=={'.'.join(major_minor)}.* torchvision=={tv}.* "
        "(a torchvision built for your torch, e.g. torch==2.14.1 torchvision==0.29.1)"
    )


class TorchvisionNet(nn.Module):
    def __init__(self, stages: list[nn.Module], num_features: int, num_classes: int):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.num_features = num_features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(num_features, num_classes))

    def blocks(self) -> list[nn.Module]:
        return list(self.stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.head(self.pool(x))


def _tv_models():
    try:
        import torchvision.models as tvm
    except Exception as exc:  # missing, or a torchvision built for another torch
        raise GrinlabError(f"{_needs_message()} ({type(exc).__name__}: {exc})") from None
    return tvm


def _build(arch: str, pretrained: bool) -> nn.Module:
    tvm = _tv_models()
    try:
        return getattr(tvm, arch)(weights="IMAGENET1K_V1" if pretrained else None)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a truncated download a RuntimeError
        raise GrinlabError(
            f"torchvision could not get the ImageNet weights of {arch} ({exc}); connect once so it can "
            "download them into $TORCH_HOME/hub/checkpoints, or build with pretrained=False"
        ) from None


def adapt_first_conv(conv: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    """A copy of ``conv`` for ``in_chans`` inputs whose response to a grey image (the same value in
    every channel) equals the RGB conv's response to that grey image."""
    if in_chans == conv.in_channels:
        return conv
    new = nn.Conv2d(
        in_chans,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        grey = conv.weight.sum(dim=1, keepdim=True)
        new.weight.copy_(grey.repeat(1, in_chans, 1, 1) / in_chans)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


@register(
    "torchvision_resnet18",
    "torchvision ResNet-18 (ImageNet weights with pretrained=True); 11.2M params, needs torchvision",
    (64, 64),
    3,
)
def tv_resnet18(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    m = _build("resnet18", pretrained)
    stem = nn.Sequential(adapt_first_conv(m.conv1, in_chans), m.bn1, m.relu, m.maxpool)
    return TorchvisionNet([stem, m.layer1, m.layer2, m.layer3, m.layer4], 512, num_classes)


@register(
    "torchvision_mobilenet_v3_small",
    "torchvision MobileNetV3-Small (ImageNet weights with pretrained=True); 0.93M params, needs torchvision",
    (64, 64),
    3,
)
def tv_mobilenet_v3_small(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    m = _build("mobilenet_v3_small", pretrained)
    m.features[0][0] = adapt_first_conv(m.features[0][0], in_chans)
    return TorchvisionNet(list(m.features), 576, num_classes)


@register(
    "torchvision_efficientnet_b0",
    "torchvision EfficientNet-B0 (ImageNet weights with pretrained=True); 4.0M params, needs torchvision",
    (64, 64),
    3,
)
def tv_efficientnet_b0(num_classes, in_chans=3, input_size=(64, 64), pretrained=False, **kw):
    m = _build("efficientnet_b0", pretrained)
    m.features[0][0] = adapt_first_conv(m.features[0][0], in_chans)
    return TorchvisionNet(list(m.features), 1280, num_classes)
