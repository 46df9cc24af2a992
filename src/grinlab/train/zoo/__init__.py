"""Network zoo: a registry of builders, one small module per family (timm-style).

``create_model(name, num_classes=..., in_chans=..., input_size=...)`` is the one door in; each
registered entry carries its default config (input size, channels) that the trainer uses to
build preprocessing when the user gives none.

Structural contract of every zoo model (transfer learning, feature maps and freezing rely on it):

- ``model.blocks() -> list[nn.Module]``: the feature stages in forward order, stem first and the
  last block last (``prepare_transfer(freeze="all_but_last")`` trains ``blocks()[-1]`` + head);
- ``model.head``: the final classifier; its input is the pooled features of width
  ``model.num_features`` (documented exceptions: simple_cnn's head includes its dense-128 layer
  and takes the flattened conv maps; mini_xception's head is its final conv + global pooling and
  takes the 128 feature maps, so it sets ``pool_before_new_head = True``);
- ``model.num_features``: that input width, so a new head can be built without a forward pass.

Builders take ``(num_classes, in_chans, input_size, **kwargs)``, work for 1 or 3 channels at 48 and
64 px, export to ONNX (opset 17, dynamic batch), and their description gives the size (params and
forward MFLOPs at 48x48 grey, 2 classes).
"""

from __future__ import annotations

from ...errors import GrinlabError
from .registry import _REGISTRY, ZooEntry, register

__all__ = ["ZooEntry", "count_params", "create_model", "get_entry", "list_models", "register"]


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
