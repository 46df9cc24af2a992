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
from .decision import DecisionRule

OUTPUT_KINDS = ("probabilities", "logits")
MAX_ROWS_PER_RUN = 512  # faces per ONNX Runtime call (see OnnxClassifier._run)
DEFAULT_THREADS = 1


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reads_logits(card_outputs: str | None, output_name: str) -> bool:
    """A graph's output is read as logits (softmax applied here) when its card or its name says so,
    else as probabilities."""
    return card_outputs == "logits" or output_name == "logits"


class OnnxClassifier:
    """``OnnxClassifier("smile.onnx")`` reads the card ``smile.json`` beside it (or takes ``card``).

    threads: ONNX Runtime intra-op threads; default ``DEFAULT_THREADS`` = 1. Per-face batches are
    small (a few faces per frame), where extra threads cost more in synchronisation than they
    save, and one thread per classifier leaves the other cores to the detector and the decoder.
    Inter-op parallelism is off (the graphs are a single chain) and the graph is fully optimised.

    The graph's output is read as probabilities unless the card says ``"outputs": "logits"`` (or
    the output tensor is named "logits"), in which case softmax is applied here.
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        card: ModelCard | None = None,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ):
        import onnxruntime as ort

        path = Path(model_path)
        if not path.is_file():
            raise GrinlabError(f"{path}: model file not found")
        self.path = path
        self.card = card if card is not None else ModelCard.load(path.with_suffix(".json"))
        if self.card.outputs not in OUTPUT_KINDS:
            raise GrinlabError(
                f"{path.with_suffix('.json')}: outputs must be one of {', '.join(OUTPUT_KINDS)}, "
                f"got {self.card.outputs!r}"
            )
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads if threads is not None else DEFAULT_THREADS))
        if so.intra_op_num_threads > 1:
            # grinlab runs several sessions back to back (the default models, a cascade's stages);
            # idle pool threads of one session that spin for work steal the cores of the next:
            # a two-stage cascade cost 1.0 ms/face with spinning and 0.5 without, on 2 cores.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), so, providers=list(providers or ["CPUExecutionProvider"])
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
                f"{path}: the model takes input {shape} but its card says {expected} "
                "(channels, height, width); re-export the model so card and file agree"
            )
        out = self._session.get_outputs()[0]
        n_out = out.shape[-1] if len(out.shape) == 2 else None
        if isinstance(n_out, int) and n_out != len(self.labels):
            raise GrinlabError(
                f"{path}: the model has {n_out} outputs but its card lists {len(self.labels)} labels "
                f"({', '.join(self.labels)}); re-export the model so card and file agree"
            )
        self._logits = reads_logits(self.card.outputs, out.name)
        # after the checks of card against graph (those errors say more); a bad rule fails
        # here, when the model loads, not on the first face
        self.decision = DecisionRule.from_card(self.card)
        self.flip_tta_decision = DecisionRule.from_card(self.card, flip_tta=True)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def name(self) -> str:
        return self.card.name

    def _run(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        # ONNX Runtime holds a whole call's activations: the 3,588 PublicTest crops in one call of
        # a 4.7M-parameter teacher took 23 GB and were killed, so large inputs go in slices
        out = np.concatenate(
            [
                self._session.run(None, {self._input: x[i : i + MAX_ROWS_PER_RUN]})[0]
                for i in range(0, len(x), MAX_ROWS_PER_RUN)
            ]
        )
        return softmax(out) if self._logits else out

    def predict_input(self, x: np.ndarray) -> np.ndarray:
        """Model input already prepared by ``grinlab.preprocess.normalize``, float32 (N, C, H, W)
        -> probabilities (the distillation teacher uses it on the student's training batches)."""
        return self._run(np.ascontiguousarray(x, np.float32))

    def predict_proba(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops of any size (uint8 grey/BGR/BGRA) -> (N, C) probabilities in label order."""
        return self._run(to_model_input(list(crops), self.card.preprocessing))

    def predict_prepared(self, batch: np.ndarray) -> np.ndarray:
        """uint8 crops already at the model's input size, (N, H, W) or (N, H, W, C) -> probabilities
        (the ``predict`` callable for ``grinlab.evaluate.report.evaluate_predictor``)."""
        batch = np.asarray(batch)
        spec = self.card.preprocessing
        want = (*spec.size,) if spec.channels == 1 else (*spec.size, spec.channels)
        if len(batch) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if tuple(batch.shape[1:]) != want:
            raise GrinlabError(
                f"{self.path.name}: prepared crops must be (N, {', '.join(map(str, want))}) uint8, "
                f"got {batch.shape}; use predict_proba for crops of any size"
            )
        return self._run(normalize(batch, spec))

    def __repr__(self) -> str:
        return f"OnnxClassifier({str(self.path)!r}, labels={self.labels})"
