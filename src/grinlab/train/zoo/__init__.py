"""Network zoo: a registry of builders, one small module per family (timm-style).

``create_model(name, num_classes=..., in_chans=..., input_size=...)`` is the one door in; each
registered entry carries its default config (input size, channels) that the trainer uses to
build preprocessing when the user gives none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...errors import GrinlabError


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


def _load_families() -> None:
    # Explicit imports (not a scan of the package) so registration is easy to follow.
    from . import simple_cnn  # noqa: F401

    try:
        from . import families  # noqa: F401  (vgg, resnet, densenet, inception, mini_xception, ...)
    except ImportError as exc:  # pragma: no cover - only while a family module is missing
        if "families" not in str(exc):
            raise


def list_models() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def get_entry(name: str) -> ZooEntry:
    _load_families()
    if name not in _REGISTRY:
        raise GrinlabError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_model(name: str, num_classes: int, in_chans: int | None = None, input_size=None, **kwargs):
    entry = get_entry(name)
    model = entry.builder(
        num_classes=num_classes,
        in_chans=in_chans or entry.default_channels,
        input_size=tuple(input_size or entry.default_input_size),
        **kwargs,
    )
    model.zoo_name = name
    return model


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
