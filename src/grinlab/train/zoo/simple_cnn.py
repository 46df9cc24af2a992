"""SmileRecognition's simple CNN: three 3x3 convs (8-16-16) with max-pooling, dense 128, dropout."""

from __future__ import annotations

import torch
from torch import nn

from . import register


class SimpleCNN(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 1, input_size=(48, 48), dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 8, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        h, w = (s // 8 for s in input_size)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * h * w, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register("simple_cnn", "SmileRecognition's 3-conv CNN (8-16-16, dense 128); ~0.3M params at 48x48")
def simple_cnn(num_classes: int, in_chans: int = 1, input_size=(48, 48), **kwargs) -> nn.Module:
    return SimpleCNN(num_classes, in_chans, input_size, **kwargs)
