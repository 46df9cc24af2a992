"""mini-Xception (Arriaga et al. 2017, "Real-time Convolutional Neural Networks for Emotion and
Gender Classification"), the model behind face_classification and ``fer``: two 3x3 convs
(8 filters), four residual modules of depthwise-separable convs (16, 32, 64, 128) with 1x1
strided shortcuts, then a conv to the classes and global average pooling (~58k params at 7 classes).

Under the zoo contract the final conv + pooling is the ``head`` (input: the 128 feature maps), so
transfer learning replaces it; ``num_features`` = 128.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register


def _sep(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
    )


class XceptionModule(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.body = nn.Sequential(
            _sep(cin, cout), nn.ReLU(inplace=True), _sep(cout, cout), nn.MaxPool2d(3, 2, 1)
        )
        self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.body(x) + self.short(x)


class MiniXception(nn.Module):
    def __init__(self, num_classes, in_chans=1):
        super().__init__()
        stem = nn.Sequential(
            nn.Conv2d(in_chans, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.stages = nn.ModuleList(
            [stem, *(XceptionModule(a, b) for a, b in ((8, 16), (16, 32), (32, 64), (64, 128)))]
        )
        self.num_features = 128
        self.pool_before_new_head = True  # head input is (N, 128, h, w); a transfer head pools first
        self.head = nn.Sequential(
            nn.Conv2d(128, num_classes, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )

    def blocks(self):
        return list(self.stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for s in self.stages:
            x = s(x)
        return self.head(x)


@register(
    "mini_xception",
    "mini-Xception (Arriaga et al. 2017); ~51k params at 2 classes, ~11 MFLOPs (57k at 7; Keras: 58k with BN stats)",
)
def mini_xception(num_classes, in_chans=1, input_size=(48, 48), **kw):
    return MiniXception(num_classes, in_chans)
