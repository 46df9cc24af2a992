"""Models shipped inside the package (``grinlab/models/<name>.onnx`` + ``<name>.json`` card),
and resolution of a model argument that is either a shipped name or a path to an .onnx file."""

from __future__ import annotations

from pathlib import Path

from .errors import GrinlabError
from .modelcard import ModelCard

MODELS_DIR = Path(__file__).parent / "models"


def shipped_models() -> dict[str, Path]:
    """Shipped model name -> path of its .onnx file (only models that have a card)."""
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.onnx")) if p.with_suffix(".json").is_file()}


def list_model_cards() -> list[ModelCard]:
    return [ModelCard.load(p.with_suffix(".json")) for p in shipped_models().values()]


def resolve_model(name_or_path: str | Path) -> Path:
    """A shipped model name (``smile``) or a path to an .onnx file with its card beside it."""
    text = str(name_or_path)
    models = shipped_models()
    if text in models:
        return models[text]
    path = Path(text).expanduser()
    if path.suffix == ".onnx" or path.exists():
        if not path.is_file():
            raise GrinlabError(f"{path}: model file not found")
        return path
    known = ", ".join(models) or "none shipped in this install"
    raise GrinlabError(
        f"unknown model {text!r}: give a shipped model name ({known}) or a path to an .onnx file"
    )
