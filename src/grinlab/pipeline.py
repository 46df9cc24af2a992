"""Analyzer: detect -> align -> classify (-> track, in stream mode) for one image or frame at a time.

MediaPipe-Tasks-style running modes: IMAGE (independent images) and VIDEO (frames of one video with
strictly increasing timestamps). The constructor validates options and loads the models; it never
touches the network.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .errors import GrinlabError
from .results import FaceBox, FaceResult, FrameResult, Prediction


class RunningMode(str, Enum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class AnalyzerOptions:
    """detector: a registered detector name (``auto`` prefers YuNet when its model file is present).
    models: shipped model names or paths to .onnx files (each with its card) or cascade cards;
        default: every shipped model of ``grinlab.shipped.DEFAULT_MODELS``.
    crop_margin: extra context around the detector box, as a fraction of its size (None = the
        aligner's default for that detector).
    faces_are_crops: skip detection and treat each whole image as one face (datasets of crops).
    max_faces: keep at most this many faces, highest detector score first (None = all).
    flip_tta: classify each face and its mirror image and average the probabilities (flip
        test-time augmentation): twice the classify cost; whether it helps depends on the model
        (the README's Models table gives each shipped model's accuracy with and without it).
    """

    detector: str = "auto"
    detector_options: dict = field(default_factory=dict)
    models: tuple[str, ...] | None = None
    crop_margin: float | None = None
    faces_are_crops: bool = False
    max_faces: int | None = None
    flip_tta: bool = False
    mode: RunningMode = RunningMode.IMAGE

    def __post_init__(self):
        if self.models is None:
            from .shipped import default_models

            object.__setattr__(self, "models", default_models())
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "mode", RunningMode(self.mode))
        if not self.models:
            raise GrinlabError("give at least one model (see `grinlab models`)")
        if self.max_faces is not None and self.max_faces < 1:
            raise GrinlabError(f"max_faces must be at least 1, got {self.max_faces}")
        if self.crop_margin is not None and not 0 <= self.crop_margin <= 2:
            raise GrinlabError(f"crop_margin must be between 0 and 2, got {self.crop_margin}")


class Analyzer:
    """One call per image: ``analyze(image)`` -> FrameResult with one FaceResult per face."""

    def __init__(self, options: AnalyzerOptions | None = None, **overrides):
        from .classify import load_classifier
        from .shipped import resolve_model

        if options is None:
            options = AnalyzerOptions(**overrides)
        elif overrides:
            raise GrinlabError("pass either an AnalyzerOptions or keyword options, not both")
        self.options = options
        self._detector = None
        if not options.faces_are_crops:
            from .detect import create_detector

            self._detector = create_detector(options.detector, **options.detector_options)
        self._classifiers = {}
        for m in options.models:
            path = resolve_model(m)
            self._classifiers[path.stem if m == str(path) else m] = load_classifier(path)
        self._last_timestamp: float | None = None
        self._closed = False

    @property
    def detector_name(self) -> str:
        if self._detector is None:
            return "none (faces are crops)"
        return type(self._detector).__name__.removesuffix("Detector").lower()

    @property
    def model_names(self) -> list[str]:
        return list(self._classifiers)

    @property
    def classifiers(self) -> dict:
        """Model name -> loaded classifier (each has ``card``, ``labels`` and ``path``)."""
        return dict(self._classifiers)

    @property
    def decisions(self) -> dict:
        """Model name -> its DecisionRule (from the card; argmax when the card has none), the
        card's flip-TTA rule when ``flip_tta`` is on."""
        attr = "flip_tta_decision" if self.options.flip_tta else "decision"
        return {name: getattr(clf, attr) for name, clf in self._classifiers.items()}

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._classifiers.clear()
        self._detector = None
        self._closed = True

    def analyze(
        self, image: np.ndarray | str | os.PathLike, source: str = "", frame_index: int = 0
    ) -> FrameResult:
        """IMAGE mode: analyse one image: an array (uint8 BGR, grey or BGRA) or the path of an image
        file (read as ``grinlab analyze`` reads it; ``source`` defaults to the path)."""
        if self.options.mode is not RunningMode.IMAGE:
            raise GrinlabError("this Analyzer is in VIDEO mode: call analyze_frame(image, timestamp_ms)")
        if isinstance(image, (str, os.PathLike)):
            from .io.images import read_image

            source = source or str(image)
            image = read_image(image)
        return self._run(image, source, frame_index, None)

    def analyze_frame(self, image: np.ndarray, timestamp_ms: float, source: str = "", frame_index: int = 0):
        """VIDEO mode: frames of one video, with strictly increasing timestamps in milliseconds."""
        if self.options.mode is not RunningMode.VIDEO:
            raise GrinlabError("this Analyzer is in IMAGE mode: call analyze(image)")
        if self._last_timestamp is not None and timestamp_ms <= self._last_timestamp:
            raise GrinlabError(
                f"timestamps must increase: got {timestamp_ms} ms after {self._last_timestamp} ms"
            )
        self._last_timestamp = timestamp_ms
        return self._run(image, source, frame_index, timestamp_ms)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Face boxes only (sorted by score, at most ``max_faces``): the step live mode skips on
        frames where it tracks faces instead of detecting them."""
        self._check_image(image)
        h, w = image.shape[:2]
        if self._detector is None:
            return [FaceBox(0.0, 0.0, float(w), float(h), 1.0)]
        boxes = self._detector.detect(image)
        if self.options.max_faces is not None:
            boxes = boxes[: self.options.max_faces]
        return boxes

    def classify_boxes(
        self,
        image: np.ndarray,
        boxes: list[FaceBox],
        source: str = "",
        frame_index: int = 0,
        timestamp_ms: float | None = None,
        detect_ms: float = 0.0,
    ) -> FrameResult:
        """Align and classify the faces at ``boxes`` (from ``detect`` or a tracker); ``detect_ms`` is
        recorded as the frame's detect time. No running-mode or timestamp checks: live mode calls
        this once per frame after its own checks."""
        from .align import crop_face
        from .classify import predict_proba_flip_tta

        self._check_image(image)
        h, w = image.shape[:2]
        t1 = time.perf_counter()
        if self._detector is None:
            crops = [image for _ in boxes]
        else:
            kw = {} if self.options.crop_margin is None else {"margin": self.options.crop_margin}
            crops = [crop_face(image, b, **kw) for b in boxes]
        t2 = time.perf_counter()
        if self.options.flip_tta:
            per_model = {name: predict_proba_flip_tta(clf, crops) for name, clf in self._classifiers.items()}
        else:
            per_model = {name: clf.predict_proba(crops) for name, clf in self._classifiers.items()}
        t3 = time.perf_counter()
        rules = self.decisions
        # each model's rule on the whole batch at once (the card's rule; argmax when it has none)
        decided = {name: rules[name].decide(np.asarray(p)) for name, p in per_model.items()}
        faces = []
        for i, box in enumerate(boxes):
            preds = {}
            for name, clf in self._classifiers.items():
                probs = per_model[name][i]
                k = int(decided[name][i])
                preds[name] = Prediction(
                    model=name,
                    task=clf.card.task,
                    label=clf.labels[k],
                    score=float(probs[k]),
                    probabilities={lab: float(p) for lab, p in zip(clf.labels, probs)},
                )
            faces.append(
                FaceResult(index=i, box=box, predictions=preds, smile_intensity=smile_intensity(preds, rules))
            )
        timings = {
            "detect": detect_ms,
            "align": (t2 - t1) * 1e3,
            "classify": (t3 - t2) * 1e3,
            "total": detect_ms + (t3 - t1) * 1e3,
        }
        return FrameResult(source, frame_index, w, h, tuple(faces), timestamp_ms, timings)

    def _check_image(self, image) -> None:
        if self._closed:
            raise GrinlabError("this Analyzer is closed; create a new one")
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise GrinlabError("image must be a uint8 numpy array (H, W) or (H, W, 3|4) as OpenCV decodes it")

    def _run(self, image, source, frame_index, timestamp_ms) -> FrameResult:
        t0 = time.perf_counter()
        boxes = self.detect(image)
        detect_ms = (time.perf_counter() - t0) * 1e3
        return self.classify_boxes(image, boxes, source, frame_index, timestamp_ms, detect_ms)


def smile_intensity(preds: dict[str, Prediction], rules: dict | None = None) -> float | None:
    """P(smile) of the first smile-capable model: the smile model's P(smile), or the valence model's
    P(positive) + P(negative smile), or the emotion model's P(happy).

    ``rules`` (model name -> grinlab.classify.decision.DecisionRule) correct those probabilities
    the way the model's decision does (``DecisionRule.adjusted``, p * w / sum(p * w)): with a
    threshold t on P(smile) the intensity is p (1 - t) / (p (1 - t) + (1 - p) t), monotone in
    P(smile), 0 and 1 kept, and exactly 0.5 at p = t; so intensity >= 0.5 is the smile label, as
    the overlay and the gate's "0.5 = the decision threshold" assume."""

    def corrected(name: str, p: Prediction) -> dict[str, float]:
        rule = (rules or {}).get(name)
        if rule is None or rule.kind == "argmax":
            return p.probabilities
        labels = list(p.probabilities)
        adj = rule.adjusted(np.array([p.probabilities[k] for k in labels]))
        return dict(zip(labels, map(float, adj)))

    for name, p in preds.items():
        if "smile" in p.probabilities:
            return corrected(name, p)["smile"]
        if "positive_smile" in p.probabilities:
            probs = corrected(name, p)
            return probs["positive_smile"] + probs.get("negative_smile", 0.0)
    for name, p in preds.items():
        if "happy" in p.probabilities:
            return corrected(name, p)["happy"]
    return None
