"""The inference-time classifier: an ONNX model plus its card, run by ONNX Runtime (no torch).

Preprocessing is built from the card (grinlab.preprocess), never re-implemented here. All faces of
a frame go through the network in one batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..modelcard import ModelCard
from ..preprocess import normalize, to_model_input


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class OnnxClassifier:
    """``OnnxClassifier("smile.onnx")`` reads ``smile.json`` beside it.

    threads: ONNX Runtime intra-op threads. Default 1: per-face batches are small, and one thread
    per classifier is steadier on a loaded machine and leaves cores to the detector and decoder.
    """

    def __init__(
        self, model_path: str | os.PathLike, card: ModelCard | None = None, providers=None, threads: int = 1
    ):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise GrinlabError(f"{path}: model file not found")
        self.path = path
        self.card = card or ModelCard.load(path.with_suffix(".json"))
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), so, providers=providers or ["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise GrinlabError(
                f"{path}: ONNX Runtime cannot load this model ({str(exc).splitlines()[0]})"
            ) from None
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        spec = self.card.preprocessing
        expected = [spec.channels, *spec.size]
        shape = list(inp.shape[1:])
        if all(isinstance(d, int) for d in shape) and shape != expected:
            raise GrinlabError(
                f"{path}: the model takes input {shape} but its card says {expected} (channels, height, width); "
                "re-export the model so card and file agree"
            )
        # grinlab exports put softmax in the graph (output "probabilities"); a graph whose output is
        # named "logits" (e.g. exported by hand) gets the softmax here.
        self._logits = self._session.get_outputs()[0].name == "logits"

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def name(self) -> str:
        return self.card.name

    def _run(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        out = self._session.run(None, {self._input: x})[0]
        return _softmax(out) if self._logits else out

    def predict_proba(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops of any size (uint8 grey/BGR/BGRA) -> (N, C) probabilities in label order."""
        return self._run(to_model_input(list(crops), self.card.preprocessing))

    def predict_prepared(self, batch: np.ndarray) -> np.ndarray:
        """uint8 crops already at the model's input size, (N, H, W) or (N, H, W, C) -> probabilities."""
        return self._run(normalize(np.asarray(batch), self.card.preprocessing))
