"""Models shipped inside the package (``grinlab/models/<name>.onnx`` + ``<name>.json`` card, or a
cascade card ``<name>.json`` naming two such models), and resolution of a model argument that is
either a shipped name or a path to an .onnx file or a cascade card."""

from __future__ import annotations

import json
from pathlib import Path

from .errors import GrinlabError
from .modelcard import ModelCard

MODELS_DIR = Path(__file__).parent / "models"
# what `grinlab analyze` and the Analyzer run when no model is named: smile or not, positive vs
# negative smile, the 7 emotions (those of them shipped in this install)
DEFAULT_MODELS = ("smile", "valence", "emotion7")


def default_models() -> tuple[str, ...]:
    shipped = shipped_models()
    return tuple(m for m in DEFAULT_MODELS if m in shipped) or ("smile",)


def _is_cascade_card(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()).get("stages"))
    except (OSError, ValueError, AttributeError):
        return False


def shipped_models() -> dict[str, Path]:
    """Shipped model name -> path of its .onnx file (models with a card) or its cascade card."""
    models = {p.stem: p for p in MODELS_DIR.glob("*.onnx") if p.with_suffix(".json").is_file()}
    for card in MODELS_DIR.glob("*.json"):
        if card.stem not in models and _is_cascade_card(card):
            models[card.stem] = card
    return dict(sorted(models.items()))


def card_path(model_path: Path) -> Path:
    """The card of a model file (``x.onnx`` -> ``x.json``; a cascade card is its own card)."""
    return model_path if model_path.suffix == ".json" else model_path.with_suffix(".json")


def model_size_bytes(model_path: Path) -> int:
    """Bytes on disk of a model: the .onnx file, or both stage files of a cascade."""
    if model_path.suffix != ".json":
        return model_path.stat().st_size
    stages = ModelCard.load(model_path).stages
    return sum((model_path.parent / stages[k]).stat().st_size for k in ("gate", "branch"))


def list_model_cards() -> list[ModelCard]:
    return [ModelCard.load(card_path(p)) for p in shipped_models().values()]


def resolve_model(name_or_path: str | Path) -> Path:
    """A shipped model name (``smile``) or a path to an .onnx file with its card beside it."""
    text = str(name_or_path)
    models = shipped_models()
    if text in models:
        return models[text]
    path = Path(text).expanduser()
    if path.suffix in (".onnx", ".json") or path.exists():
        if not path.is_file():
            raise GrinlabError(f"{path}: model file not found")
        return path
    known = ", ".join(models) or "none shipped in this install"
    raise GrinlabError(
        f"unknown model {text!r}: give a shipped model name ({known}), a path to an .onnx file "
        "or to a cascade card (.json)"
    )
