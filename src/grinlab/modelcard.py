"""Model cards: the JSON that travels with every ONNX file.

Inference builds its preprocessing from the card and reads class names from it; nothing about a
model is hard-coded elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import GrinlabError
from .preprocess import Preprocessing

CARD_VERSION = 1


# card fields a file could give with the wrong JSON type
_FIELD_TYPES = {"name": str, "task": str, "architecture": str, "params": int, "onnx_file": str, "sha256": str,
                "dataset": dict, "metrics": dict, "command": str, "created": str, "notes": str,
                "outputs": str, "stages": dict, "decision": dict, "version": int}  # fmt: skip


@dataclass(frozen=True)
class ModelCard:
    name: str
    task: str
    labels: tuple[str, ...]
    preprocessing: Preprocessing
    architecture: str = ""
    params: int = 0
    onnx_file: str = ""
    sha256: str = ""
    dataset: dict = field(default_factory=dict)  # name, path, split protocol, counts
    metrics: dict = field(default_factory=dict)  # split -> {accuracy, macro_f1, ...}
    command: str = ""  # the exact command that produced the model
    created: str = ""
    notes: str = ""
    outputs: str = "probabilities"  # what the graph emits: "probabilities" or "logits"
    # a two-stage cascade (grinlab.classify.cascade): {"gate": FILE.onnx, "gate_label": LABEL,
    # "branch": FILE.onnx}; empty for a single ONNX model
    stages: dict = field(default_factory=dict)
    # how a label is decided from the probabilities (grinlab.classify.decision); {} = argmax.
    # Written by `grinlab calibrate --write`, which records how it chose the rule in metrics.
    decision: dict = field(default_factory=dict)
    version: int = CARD_VERSION

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        d["preprocessing"] = self.preprocessing.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "model card") -> ModelCard:
        try:
            if not isinstance(d, dict):
                raise TypeError(f"a card is a JSON object, got {type(d).__name__}")
            d = dict(d)
            labels = d["labels"]
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
                raise TypeError("labels must be a non-empty list of names")
            if len(set(labels)) != len(labels):
                raise ValueError("labels must be unique")
            d["labels"] = tuple(labels)
            d["preprocessing"] = Preprocessing.from_dict(d["preprocessing"])
            for name, kind in _FIELD_TYPES.items():
                if name in d and not isinstance(d[name], kind):
                    raise TypeError(
                        f"{name} must be {kind.__name__ if isinstance(kind, type) else 'a number'}"
                    )
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in d.items() if k in known})
        except (KeyError, TypeError, ValueError, GrinlabError) as exc:
            raise GrinlabError(
                f"{source}: not a valid grinlab model card ({exc}); re-export the model"
            ) from None

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        if not path.is_file():
            raise GrinlabError(
                f"{path}: model card not found; every .onnx model needs its .json card beside it"
            )
        return cls.from_json(path.read_bytes(), source=str(path))

    @classmethod
    def from_json(cls, data: bytes | str, source: str = "model card") -> ModelCard:
        """A card from the bytes of its .json file; any damage is a GrinlabError naming ``source``."""
        try:
            parsed = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GrinlabError(f"{source}: model card is not valid JSON ({exc})") from None
        except RecursionError:
            raise GrinlabError(f"{source}: model card nests too deep to be a card") from None
        return cls.from_dict(parsed, source=source)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
