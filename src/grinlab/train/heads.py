"""The heads a zoo network can carry: its own, or the new two-layer head that transfer learning puts
on (``grinlab.train.transfer``), and which of the two a saved network has. Apart from the transfer
module so that loading exported networks (``teacher_weights``) can use it too."""

from __future__ import annotations

import torch
from torch import nn


def is_head(key: str) -> bool:
    return key.startswith("head.")


def new_head(model: nn.Module, num_classes: int, hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    """Linear-ReLU-Dropout-Linear on the pooled features of width ``model.num_features``."""
    layers: list[nn.Module] = []
    if getattr(model, "pool_before_new_head", False):  # mini_xception: its head input is unpooled
        layers.append(nn.AdaptiveAvgPool2d(1))
    layers += [
        nn.Flatten(),
        nn.Linear(model.num_features, hidden),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    ]
    return nn.Sequential(*layers)


def fit_kept_head(model: nn.Module, state: dict[str, torch.Tensor], num_classes: int) -> None:
    """For ``keep_head``: give ``model`` the head its source has (``state``: the source's, or for a
    run folder its own checkpoint's): its own zoo head, or the 2-layer head of a transfer run (same
    names and shapes; a zoo head may share the names, e.g. simple_cnn's)."""
    theirs = {k: tuple(v.shape) for k, v in state.items() if is_head(k)}
    if theirs == {k: tuple(v.shape) for k, v in model.state_dict().items() if is_head(k)}:
        return
    candidate = new_head(model, num_classes)
    if theirs == {f"head.{k}": tuple(v.shape) for k, v in candidate.state_dict().items()}:
        model.head = candidate
