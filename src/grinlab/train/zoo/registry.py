"""The zoo's registry: ``register`` (the decorator each family module uses) and its entries. Apart from
the package's ``__init__`` so family modules import it without importing the package that
imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ZooEntry:
    name: str
    builder: Callable
    description: str
    default_input_size: tuple[int, int] = (48, 48)
    default_channels: int = 1


_REGISTRY: dict[str, ZooEntry] = {}


def register(name: str, description: str, input_size=(48, 48), channels: int = 1):
    """Decorator: register ``builder(num_classes, in_chans, input_size, **kwargs) -> nn.Module``."""

    def wrap(builder):
        _REGISTRY[name] = ZooEntry(name, builder, description, tuple(input_size), channels)
        return builder

    return wrap
