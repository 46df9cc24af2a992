"""Face detectors behind one Protocol and a registry chosen by name.

``create_detector("auto")`` picks YuNet when its model file is available (a ``model_path``, the
GRINLAB_YUNET_MODEL variable, or the cache filled by ``grinlab download yunet``), else Haar.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import GrinlabError
from .base import DetectorOptions, FaceDetector, nms

_FACTORIES: dict[str, Callable[..., FaceDetector]] = {}
_OPTION_NAMES = set(DetectorOptions.__dataclass_fields__)


def register_detector(name: str, factory: Callable[..., FaceDetector]) -> None:
    """``factory(options: DetectorOptions, **backend_kwargs) -> FaceDetector``."""
    _FACTORIES[name] = factory


def _haar(options, **kw):
    from .haar import HaarDetector

    return HaarDetector(options, **kw)


def _yunet(options, **kw):
    from .yunet import YuNetDetector

    return YuNetDetector(options, **kw)


register_detector("haar", _haar)
register_detector("yunet", _yunet)


def list_detectors() -> list[str]:
    return sorted(_FACTORIES)


def resolve_auto(model_path=None) -> str:
    from ..assets import asset_path

    return "yunet" if model_path or asset_path("yunet") else "haar"


def create_detector(name: str = "auto", **options) -> FaceDetector:
    """A detector by name; shared options (see DetectorOptions) and backend options (e.g. yunet's
    ``model_path``, haar's ``scale_factor``) may be mixed."""
    shared = {k: v for k, v in options.items() if k in _OPTION_NAMES}
    backend = {k: v for k, v in options.items() if k not in _OPTION_NAMES}
    if name == "auto":
        name = resolve_auto(backend.get("model_path"))
    if name != "yunet":
        backend.pop("model_path", None)
    if name not in _FACTORIES:
        raise GrinlabError(f"unknown detector {name!r}; available: auto, {', '.join(list_detectors())}")
    try:
        return _FACTORIES[name](DetectorOptions(**shared), **backend)
    except TypeError as exc:
        raise GrinlabError(f"detector {name!r}: bad option ({exc})") from None


__all__ = ["DetectorOptions", "FaceDetector", "create_detector", "list_detectors", "nms", "register_detector"]
