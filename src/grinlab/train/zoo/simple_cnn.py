"""SmileRecognition's simple CNN: three 3x3 convs (8-16-16) with max-pooling, dense 128, dropout.

Zoo contract: ``blocks()`` are the three conv stages; ``head`` is flatten + dense 128 + dropout +
the classifier (the dense layer is part of the head, as in the original Keras model, so transfer
learning replaces it); ``num_features`` = 16 * (H/8) * (W/8), the flattened conv output.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))


class SimpleCNN(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, input_size=(48, 48), dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(_stage(in_chans, 8), _stage(8, 16), _stage(16, 16))
        h, w = (s // 8 for s in input_size)
        self.num_features = 16 * h * w
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.num_features, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def blocks(self) -> list[nn.Module]:
        return list(self.features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register(
    "simple_cnn", "SmileRecognition's 3-conv CNN (8-16-16, dense 128); ~78k params, ~2.5 MFLOPs at 48x48"
)
def simple_cnn(num_classes: int, in_chans: int = 1, input_size=(48, 48), **kwargs) -> nn.Module:
    return SimpleCNN(num_classes, in_chans, input_size, **kwargs)
