"""DenseNet-style net (Huang et al. 2017): dense blocks of BN-ReLU-1x1-BN-ReLU-3x3 layers with
growth rate k, transitions (1x1 conv, compression 0.5, 2x2 average pooling) between blocks.

The stem max-pools to half resolution before the first dense block (ImageNet DenseNets downsample
by 4 there), and the short first block keeps few layers at the largest resolution: concatenation
makes dense layers memory-bound, so layers at 24 px cost far more than their FLOPs say. With a full
48 px stem and 4-6-8-6 layers the net trained at ~25 img/s on one loaded CPU core; this one at ~160.
"""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import ZooNet, conv_bn
from .registry import register


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(inplace=True), nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False),
        )  # fmt: skip

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)


def _transition(cin, cout):
    return nn.Sequential(
        nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, 1, bias=False), nn.AvgPool2d(2)
    )


@register(
    "densenet_small",
    "DenseNet-style, blocks of 3-6-12-8 layers, growth 12, compression 0.5; ~0.33M params, ~55 MFLOPs",
)
def densenet_small(
    num_classes, in_chans=1, input_size=(48, 48), growth=12, layers=(3, 6, 12, 8), dropout=0.0, **kw
):
    c = 2 * growth
    stages = [nn.Sequential(conv_bn(in_chans, c), nn.MaxPool2d(2))]
    for i, n in enumerate(layers):
        block = []
        for _ in range(n):
            block.append(DenseLayer(c, growth))
            c += growth
        if i < len(layers) - 1:
            block.append(_transition(c, c // 2))
            c //= 2
        else:
            block += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        stages.append(nn.Sequential(*block))
    return ZooNet(stages, c, num_classes, dropout)
