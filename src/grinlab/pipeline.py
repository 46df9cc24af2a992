"""Analyzer: detect -> align -> classify (-> track and smooth) with MediaPipe-Tasks-style running modes.

- IMAGE: ``analyze(image)``, independent images.
- VIDEO: ``analyze_frame(image, timestamp_ms)``, the frames of one video in time order: detect or
  follow (``detect_every``), classify, track and smooth, returning each frame's result.
- STREAM: ``analyze_async(image, timestamp_ms)``, a camera: the frame is analysed on a worker
  thread and its result goes to ``result_callback``; a frame that arrives while an older one still
  waits replaces it (newest wins, ``dropped_frames`` counts the rest), so a slow model never
  builds a backlog behind a live camera.

The mode is chosen once per Analyzer and checked in one place (``_require``); the per-stream state
of VIDEO and STREAM lives in a ``grinlab.session.Session``, which also serves several streams over
one set of loaded models (``Analyzer.session()``: the web server's connections, live, gate).
The constructor validates options and loads the models; it never touches the network.

Threads: classifiers (ONNX Runtime sessions) are shared by every thread; OpenCV's detectors are
not thread-safe, so each thread that detects at the same moment gets its own detector instance.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .classify.intensity import smile_intensity
from .errors import GrinlabError
from .results import FaceBox, FaceResult, FrameResult, Prediction
from .session import Session
from .track import TrackerOptions

log = logging.getLogger(__name__)


class RunningMode(str, Enum):
    IMAGE = "image"
    VIDEO = "video"
    STREAM = "stream"


_CALLS = {RunningMode.IMAGE: "analyze(image)", RunningMode.VIDEO: "analyze_frame(image, timestamp_ms)",
          RunningMode.STREAM: "analyze_async(image, timestamp_ms)"}  # fmt: skip


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
    mode: IMAGE, VIDEO or STREAM (see the module docstring).
    detect_every: VIDEO / STREAM (and sessions): detect on every N-th frame, follow faces between.
    tracker: VIDEO / STREAM (and sessions): track ids, smoothing and hysteresis.
    result_callback: STREAM only, required there: called as ``fn(result, image)`` on the worker
        thread for every analysed frame.
    classify_threads: the models of one frame run side by side on up to this many threads (None:
        one per model, up to the cores there are; 1: one after another, e.g. a Ray actor given
        one CPU).
    """

    detector: str = "auto"
    detector_options: dict = field(default_factory=dict)
    models: tuple[str, ...] | None = None
    crop_margin: float | None = None
    faces_are_crops: bool = False
    max_faces: int | None = None
    flip_tta: bool = False
    mode: RunningMode = RunningMode.IMAGE
    detect_every: int = 1
    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    result_callback: Callable[[FrameResult, np.ndarray], None] | None = field(default=None, compare=False)
    classify_threads: int | None = None

    def __post_init__(self):
        if self.models is None:
            from .shipped import default_models

            object.__setattr__(self, "models", default_models())
        object.__setattr__(self, "models", tuple(self.models))
        try:
            object.__setattr__(self, "mode", RunningMode(self.mode))
        except ValueError:
            raise GrinlabError(f"mode must be one of image, video, stream; got {self.mode!r}") from None
        if not self.models:
            raise GrinlabError("give at least one model (see `grinlab models`)")
        if self.max_faces is not None and self.max_faces < 1:
            raise GrinlabError(f"max_faces must be at least 1, got {self.max_faces}")
        if self.crop_margin is not None and not 0 <= self.crop_margin <= 2:
            raise GrinlabError(f"crop_margin must be between 0 and 2, got {self.crop_margin}")
        if self.detect_every < 1:
            raise GrinlabError(f"detect_every must be at least 1, got {self.detect_every}")
        if self.classify_threads is not None and self.classify_threads < 1:
            raise GrinlabError(f"classify_threads must be at least 1, got {self.classify_threads}")
        if (self.mode is RunningMode.STREAM) != (self.result_callback is not None):
            raise GrinlabError("STREAM mode needs a result_callback, and only STREAM mode takes one")


class Analyzer:
    """Loaded detector and models; one call per image or frame in the options' running mode."""

    def __init__(self, options: AnalyzerOptions | None = None, **overrides):
        from .classify import load_classifier
        from .shipped import resolve_model

        if options is None:
            options = AnalyzerOptions(**overrides)
        elif overrides:
            raise GrinlabError("pass either an AnalyzerOptions or keyword options, not both")
        self.options = options
        self._lock = threading.Lock()
        self._spare_detectors: list = []
        self._detector_kind = None
        if not options.faces_are_crops:  # one now, so bad detector options fail here
            detector = self._new_detector()
            self._detector_kind = type(detector).__name__
            self._spare_detectors.append(detector)
        self._classifiers = {}
        for m in options.models:
            path = resolve_model(m)
            self._classifiers[path.stem if m == str(path) else m] = load_classifier(path)
        # the models of one frame run side by side (ONNX Runtime releases the GIL): one thread
        # per model, up to the cores there are; a single model or core runs in the caller's thread
        workers = min(len(self._classifiers), options.classify_threads or len(os.sched_getaffinity(0)))
        self._classify_pool = ThreadPoolExecutor(workers, "grinlab-classify") if workers > 1 else None
        self._closed = False
        self._video = self.session() if options.mode is RunningMode.VIDEO else None
        self._stream = _StreamWorker(self) if options.mode is RunningMode.STREAM else None

    def _new_detector(self):
        from .detect import create_detector

        return create_detector(self.options.detector, **self.options.detector_options)

    @property
    def detector_name(self) -> str:
        if self._detector_kind is None:
            return "none (faces are crops)"
        return self._detector_kind.removesuffix("Detector").lower()

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

    @property
    def dropped_frames(self) -> int:
        """STREAM mode: frames replaced by a newer one before the worker got to them."""
        return self._stream.dropped if self._stream is not None else 0

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Finish the frame in flight (STREAM), then release the models; calls after this raise."""
        if self._closed:
            return
        if self._stream is not None:
            self._stream.stop()
        self._closed = True
        if self._classify_pool is not None:
            self._classify_pool.shutdown(wait=True)
        self._classifiers.clear()
        self._spare_detectors.clear()

    def session(
        self, *, detect_every: int | None = None, tracker: TrackerOptions | None = None, gate=None
    ) -> Session:
        """A new per-stream Session (tracker, follow state, optional SmileGate) over this analyzer's
        loaded models; defaults from the options. Sessions are independent of the running mode."""
        self._check_open()
        return Session(
            self,
            detect_every=self.options.detect_every if detect_every is None else detect_every,
            tracker=self.options.tracker if tracker is None else tracker,
            gate=gate,
        )

    def _require(self, mode: RunningMode) -> None:
        self._check_open()
        if self.options.mode is not mode:
            have = self.options.mode
            raise GrinlabError(f"this Analyzer is in {have.name} mode: call {_CALLS[have]}, "
                               f"or create one with mode={mode.name} for {_CALLS[mode]}")  # fmt: skip

    def analyze(
        self, image: np.ndarray | str | os.PathLike, source: str = "", frame_index: int = 0
    ) -> FrameResult:
        """IMAGE mode: analyse one image: an array (uint8 BGR, grey or BGRA) or the path of an image
        file (read as ``grinlab analyze`` reads it; ``source`` defaults to the path)."""
        self._require(RunningMode.IMAGE)
        if isinstance(image, (str, os.PathLike)):
            from .io.images import read_image

            source = source or str(image)
            image = read_image(image)
        self.check_image(image)
        t0 = time.perf_counter()
        boxes = self.detect(image)
        detect_ms = (time.perf_counter() - t0) * 1e3
        return self.classify_boxes(image, boxes, source, frame_index, None, detect_ms)

    def analyze_frame(
        self, image: np.ndarray, timestamp_ms: float, source: str = "", frame_index: int = 0
    ) -> FrameResult:
        """VIDEO mode: the frames of one video, timestamps in milliseconds strictly increasing;
        results carry track ids and smoothed predictions."""
        self._require(RunningMode.VIDEO)
        return self._video.process(image, timestamp_ms, frame_index, source)

    def analyze_async(
        self, image: np.ndarray, timestamp_ms: float, source: str = "", frame_index: int = 0
    ) -> None:
        """STREAM mode: hand a camera frame over and return at once; its result reaches
        ``result_callback``. Misuse (bad image, timestamps out of order) raises here, in the caller."""
        self._require(RunningMode.STREAM)
        self.check_image(image)
        self._stream.submit(image, timestamp_ms, frame_index, source)

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Face boxes only (sorted by score, at most ``max_faces``): the step a session skips on
        frames where it follows faces instead of detecting them."""
        self.check_image(image)
        h, w = image.shape[:2]
        if self._detector_kind is None:
            return [FaceBox(0.0, 0.0, float(w), float(h), 1.0)]
        with self._lock:
            detector = self._spare_detectors.pop() if self._spare_detectors else None
        if detector is None:  # another thread holds each one: OpenCV's detectors are not thread-safe
            detector = self._new_detector()
        try:
            boxes = detector.detect(image)
        finally:
            with self._lock:
                if not self._closed:
                    self._spare_detectors.append(detector)
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
        """Align and classify the faces at ``boxes`` (from ``detect`` or a session's tracker);
        ``detect_ms`` is recorded as the frame's detect time. No running-mode or timestamp checks:
        sessions call this after their own."""
        from .align import crop_face

        self.check_image(image)
        h, w = image.shape[:2]
        t1 = time.perf_counter()
        if self._detector_kind is None:
            crops = [image for _ in boxes]
        else:
            kw = {} if self.options.crop_margin is None else {"margin": self.options.crop_margin}
            crops = [crop_face(image, b, **kw) for b in boxes]
        t2 = time.perf_counter()
        per_model = self._predict_all(crops)
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

    def _predict_all(self, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
        from .classify import predict_proba_flip_tta

        def one(clf):
            return predict_proba_flip_tta(clf, crops) if self.options.flip_tta else clf.predict_proba(crops)

        if self._classify_pool is None or not crops:
            return {name: one(clf) for name, clf in self._classifiers.items()}
        futures = {name: self._classify_pool.submit(one, clf) for name, clf in self._classifiers.items()}
        return {name: f.result() for name, f in futures.items()}

    def _check_open(self) -> None:
        if self._closed:
            raise GrinlabError("this Analyzer is closed; create a new one")

    def check_image(self, image) -> None:
        self._check_open()
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise GrinlabError("image must be a uint8 numpy array (H, W) or (H, W, 3|4) as OpenCV decodes it")


class _StreamWorker:
    """STREAM mode's worker thread with a one-frame mailbox: newest frame wins."""

    def __init__(self, analyzer: Analyzer):
        self._analyzer = analyzer
        self._session = analyzer.session()
        self._callback = analyzer.options.result_callback
        self._cv = threading.Condition()
        self._pending = None
        self._stopping = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="grinlab-stream", daemon=True)
        self._thread.start()

    def submit(self, image, timestamp_ms, frame_index, source) -> None:
        with self._cv:
            self._session.accept(timestamp_ms)  # order is checked in the caller's thread
            if self._pending is not None:
                self.dropped += 1
            self._pending = (image, float(timestamp_ms), frame_index, source)
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._stopping:
                    self._cv.wait()
                if self._pending is None:
                    return
                item, self._pending = self._pending, None
            try:
                result = self._session.process_accepted(*item)
                self._callback(result, item[0])
            except Exception:  # a failing callback must not end the stream; the log says why
                log.exception("STREAM mode: analysing or delivering frame %s failed", item[2])

    def stop(self) -> None:
        """Analyse the frame still waiting, then end the thread."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join()
