"""Face tracking across frames: a stable id per face, smoothed probabilities, and box following.

``FaceTracker.update(result)`` takes one frame's FrameResult (in time order: a
``grinlab.session.Session`` checks that) (faces from the detector or from
``follow_boxes``) and returns it with a ``track_id`` on every face and each model's probabilities
smoothed over time, so labels do not flicker:

- Matching: greedy by IoU between each track's predicted box (constant velocity) and the new boxes.
  Faces in front of a camera are few and rarely cross, so greedy matching gives the same pairs as
  the Hungarian method here without pulling in scipy. (Maintained tracker libraries, e.g. norfair
  or ByteTrack ports, bring their own dependencies and Kalman tuning for crowds of pedestrians;
  they do not smooth classifier outputs, which is the part that matters here.)
- Smoothing: an exponential moving average with a time constant (``smoothing_ms``), so it behaves
  the same at 10 and 60 frames/s: weight of a new frame = 1 - exp(-dt / smoothing_ms).
- Hysteresis: the label shown changes only when another label's smoothed probability beats the
  current label's by ``hysteresis``; for a two-class model with the default 0.1, that is
  P > 0.55 to switch and P < 0.45 to switch back.

``follow_boxes`` moves boxes from the previous frame to the current one by template matching: the
cheap step live mode runs between detections (``detect_every`` > 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .classify.decision import decide
from .colour import to_grey
from .errors import GrinlabError
from .results import FaceBox, FaceResult, FrameResult, Prediction

ASSUMED_FPS = 30.0  # for frames without timestamps


@dataclass(frozen=True)
class TrackerOptions:
    """iou_threshold: a new box continues a track when their IoU (after motion prediction) is at
        least this.
    max_missed_ms: a track not matched for this long is dropped; a face coming back later gets a
        new id.
    smoothing_ms: time constant of the probability EMA (0 = no smoothing).
    hysteresis: margin by which another label must beat the shown one before the label changes.
    """

    iou_threshold: float = 0.3
    max_missed_ms: float = 700.0
    smoothing_ms: float = 150.0
    hysteresis: float = 0.1

    def __post_init__(self):
        if not 0.0 < self.iou_threshold <= 1.0:
            raise GrinlabError(f"iou_threshold must be in (0, 1], got {self.iou_threshold}")
        if self.max_missed_ms < 0:
            raise GrinlabError(f"max_missed_ms must be >= 0, got {self.max_missed_ms}")
        if self.smoothing_ms < 0:
            raise GrinlabError(f"smoothing_ms must be >= 0 (0 turns smoothing off), got {self.smoothing_ms}")
        if not 0.0 <= self.hysteresis < 1.0:
            raise GrinlabError(f"hysteresis must be in [0, 1), got {self.hysteresis}")


@dataclass
class Track:
    """One face followed over time."""

    id: int
    box: FaceBox
    first_ms: float
    last_ms: float
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, pixels per ms
    hits: int = 1
    probs: dict[str, np.ndarray] = field(default_factory=dict)  # model -> smoothed probabilities
    shown: dict[str, int] = field(default_factory=dict)  # model -> index of the label shown
    intensity: float | None = None

    def predicted_box(self, now_ms: float) -> FaceBox:
        dt = now_ms - self.last_ms
        return replace(self.box, x=self.box.x + self.velocity[0] * dt, y=self.box.y + self.velocity[1] * dt)


class FaceTracker:
    """Assigns stable ids and smooths predictions; one instance per video or stream."""

    def __init__(self, options: TrackerOptions | None = None, **overrides):
        if options is None:
            options = TrackerOptions(**overrides)
        elif overrides:
            raise GrinlabError("pass either a TrackerOptions or keyword options, not both")
        self.options = options
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def reset(self) -> None:
        self.tracks.clear()

    def update(self, result: FrameResult, decisions: dict | None = None) -> FrameResult:
        """``result`` with track ids and smoothed predictions; faces keep their order.

        decisions: model name -> DecisionRule (``Analyzer.decisions``); the label shown is that
        rule applied to the smoothed probabilities (argmax for a model not named)."""
        now = result.timestamp_ms
        if now is None:
            now = result.frame_index * 1000.0 / ASSUMED_FPS
        # time order is the caller's contract, checked once in grinlab.session.Session.accept
        for tid in [t.id for t in self.tracks.values() if now - t.last_ms > self.options.max_missed_ms]:
            del self.tracks[tid]
        matches = self._match(result.faces, now)
        faces = []
        for i, face in enumerate(result.faces):
            track = matches.get(i)
            if track is None:
                track = Track(self._next_id, face.box, now, now)
                self._next_id += 1
                self.tracks[track.id] = track
                alpha = 1.0
            else:
                dt = now - track.last_ms
                alpha = (
                    1.0 if self.options.smoothing_ms == 0 else 1.0 - math.exp(-dt / self.options.smoothing_ms)
                )
                self._move(track, face.box, dt)
                track.hits += 1
            track.last_ms = now
            faces.append(self._smooth(track, face, alpha, decisions or {}))
        return replace(result, faces=tuple(faces))

    def _match(self, faces, now: float) -> dict[int, Track]:
        pairs = []
        for track in self.tracks.values():
            predicted = track.predicted_box(now)
            for i, face in enumerate(faces):
                iou = predicted.iou(face.box)
                if iou >= self.options.iou_threshold:
                    pairs.append((iou, i, track.id))
        matches, used = {}, set()
        for _, i, tid in sorted(pairs, reverse=True):
            if i not in matches and tid not in used:
                matches[i] = self.tracks[tid]
                used.add(tid)
        return matches

    @staticmethod
    def _move(track: Track, box: FaceBox, dt: float) -> None:
        if dt > 0:
            vx = (box.x + box.w / 2 - track.box.x - track.box.w / 2) / dt
            vy = (box.y + box.h / 2 - track.box.y - track.box.h / 2) / dt
            track.velocity = (0.5 * track.velocity[0] + 0.5 * vx, 0.5 * track.velocity[1] + 0.5 * vy)
        track.box = box

    def _smooth(self, track: Track, face: FaceResult, alpha: float, decisions: dict) -> FaceResult:
        preds = {}
        for name, p in face.predictions.items():
            labels = list(p.probabilities)
            new = np.array([p.probabilities[k] for k in labels], np.float64)
            old = track.probs.get(name)
            probs = new if old is None or old.shape != new.shape else old + alpha * (new - old)
            track.probs[name] = probs
            shown = track.shown.get(name)
            rule = decisions.get(name)
            best = int(decide(probs, rule))
            # the margin is measured on the rule's corrected probabilities, so a threshold at t
            # switches at the same distance either side of t as argmax does around 0.5
            score = probs if rule is None else rule.adjusted(probs)
            if shown is None or score[best] - score[shown] > self.options.hysteresis:
                shown = best
            track.shown[name] = shown
            preds[name] = Prediction(
                model=p.model,
                task=p.task,
                label=labels[shown],
                score=float(probs[shown]),
                probabilities={k: float(v) for k, v in zip(labels, probs)},
            )
        intensity = face.smile_intensity
        if intensity is not None:
            old = track.intensity
            intensity = intensity if old is None else old + alpha * (intensity - old)
            track.intensity = intensity
        return replace(face, predictions=preds, smile_intensity=intensity, track_id=track.id)


def follow_boxes(
    previous: np.ndarray, current: np.ndarray, boxes: list[FaceBox], min_score: float = 0.6
) -> list[FaceBox]:
    """Boxes moved from ``previous`` to ``current`` (same-size frames) by matching each face's
    centre patch in a window around its old place (normalised cross-correlation on a grey copy
    scaled so the patch is ~24 px wide). A face whose best match scores below ``min_score`` is
    dropped: it left, turned away or was occluded, and the next detection decides."""
    if previous.shape[:2] != current.shape[:2]:
        raise GrinlabError("follow_boxes: both frames must have the same size")
    prev_g, cur_g = to_grey(previous), to_grey(current)
    h, w = cur_g.shape
    out = []
    for box in boxes:
        scale = min(1.0, 24.0 / max(8.0, box.w * 0.6))
        # template: the central 60% of the box, where the face is
        tx, ty, tw, th = box.x + box.w * 0.2, box.y + box.h * 0.2, box.w * 0.6, box.h * 0.6
        pad = max(box.w, box.h) * 0.5  # search this far in every direction
        sx0, sy0 = int(max(0, tx - pad)), int(max(0, ty - pad))
        sx1, sy1 = int(min(w, tx + tw + pad)), int(min(h, ty + th + pad))
        x0, y0, x1, y1 = int(max(0, tx)), int(max(0, ty)), int(min(w, tx + tw)), int(min(h, ty + th))
        if x1 - x0 < 4 or y1 - y0 < 4 or sx1 - sx0 <= x1 - x0 or sy1 - sy0 <= y1 - y0:
            continue
        templ = _scaled(prev_g[y0:y1, x0:x1], scale)
        window = _scaled(cur_g[sy0:sy1, sx0:sx1], scale)
        if window.shape[0] < templ.shape[0] or window.shape[1] < templ.shape[1] or templ.std() < 2:
            continue
        res = cv2.matchTemplate(window, templ, cv2.TM_CCOEFF_NORMED)
        _, score, _, (mx, my) = cv2.minMaxLoc(res)
        if score < min_score:
            continue
        dx, dy = sx0 + mx / scale - x0, sy0 + my / scale - y0
        landmarks = None if box.landmarks is None else tuple((px + dx, py + dy) for px, py in box.landmarks)
        out.append(replace(box, x=box.x + dx, y=box.y + dy, score=float(score), landmarks=landmarks))
    return out


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return image
    size = (max(1, int(round(image.shape[1] * scale))), max(1, int(round(image.shape[0] * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
