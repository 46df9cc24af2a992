"""Building blocks shared by the zoo families, and the structural contract every zoo model follows.

Contract: ``model.blocks()`` returns the feature stages in order (stem first); ``model.num_features``
is the width of the pooled features; ``model.head`` maps them to class logits. ``ZooNet`` gives
the forward pass (stages -> global average pool -> head) so each family only builds its stages.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ZooNet(nn.Module):
    def __init__(self, stages: list[nn.Module], num_features: int, num_classes: int, dropout: float = 0.0):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.num_features = num_features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(num_features, num_classes))

    def blocks(self) -> list[nn.Module]:
        return list(self.stages)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.pool(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(x))
