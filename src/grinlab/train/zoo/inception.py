"""A net of Inception-style blocks (Szegedy et al. 2015/2016): parallel 1x1, 3x3, factorised 5x5
(two 3x3) and pool-projection branches, concatenated; max-pooling between stages."""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import ZooNet, conv_bn
from .registry import register


class InceptionBlock(nn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
        super().__init__()
        self.b1 = conv_bn(cin, c1, 1)
        self.b3 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3))
        self.b5 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5), conv_bn(c5, c5))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, cp, 1))
        self.out_channels = c1 + c3 + c5 + cp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


@register(
    "inception_small",
    "Inception-style: stem + 3 stages of 2 Inception blocks (64-192-384 out); ~0.57M params, ~99 MFLOPs",
)
def inception_small(num_classes, in_chans=1, input_size=(48, 48), widths=(64, 192, 384), dropout=0.2, **kw):
    # a 16-then-32 stem: a second 32-wide conv at full resolution cost a third of the FLOPs
    stages = [nn.Sequential(conv_bn(in_chans, 16), conv_bn(16, 32))]
    cin = 32
    for out in widths:
        q = out // 4  # each branch gets a quarter of the output channels
        a = InceptionBlock(cin, q, q // 2, q, q // 4, q, q)
        b = InceptionBlock(out, q, q // 2, q, q // 4, q, q)
        stages.append(nn.Sequential(nn.MaxPool2d(2), a, b))
        cin = out
    return ZooNet(stages, cin, num_classes, dropout)
