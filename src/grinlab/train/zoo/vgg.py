"""VGG-style nets as in Khaireddin & Chen 2021 ("Facial Emotion Recognition: State of the Art
Performance on FER2013"): four stages of two 3x3 conv-BN-ReLU then max-pooling."""

from __future__ import annotations

from torch import nn

from ._blocks import ZooNet, conv_bn
from .registry import register


def _vgg(widths, num_classes, in_chans, dropout=0.3):
    stages, cin = [], in_chans
    for w in widths:
        stages.append(nn.Sequential(conv_bn(cin, w), conv_bn(w, w), nn.MaxPool2d(2)))
        cin = w
    return ZooNet(stages, cin, num_classes, dropout)


@register("vgg_small", "VGG-style, 4 stages of 2 convs, widths 32-64-128-256; ~1.2M params, ~235 MFLOPs")
def vgg_small(num_classes, in_chans=1, input_size=(48, 48), widths=(32, 64, 128, 256), **kw):
    return _vgg(widths, num_classes, in_chans, **kw)


@register(
    "vgg_paper",
    "VGG variant of Khaireddin & Chen 2021, widths 64-128-256-512; ~4.7M params, ~940 MFLOPs (GPU)",
)
def vgg_paper(num_classes, in_chans=1, input_size=(48, 48), **kw):
    return _vgg((64, 128, 256, 512), num_classes, in_chans, **kw)
