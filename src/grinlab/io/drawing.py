"""Annotation: a box, the top label of each model, and a smile bar per face; optional latency text."""

from __future__ import annotations

import cv2
import numpy as np

from ..results import FaceResult, FrameResult

GREEN = (80, 200, 60)
GREY = (170, 170, 170)
ORANGE = (0, 150, 255)
WHITE = (255, 255, 255)


def _label_text(face: FaceResult) -> list[str]:
    lines = []
    if face.track_id is not None:
        lines.append(f"#{face.track_id}")
    for p in face.predictions.values():
        lines.append(f"{p.label.replace('_', ' ')} {p.score:.2f}")
    return lines


def draw_face(image: np.ndarray, face: FaceResult) -> None:
    """Draw one face in place (BGR image)."""
    b = face.box
    x, y, w, h = int(round(b.x)), int(round(b.y)), int(round(b.w)), int(round(b.h))
    smiling = face.smile_intensity is not None and face.smile_intensity >= 0.5
    colour = GREEN if smiling else ORANGE if face.smile_intensity is not None else GREY
    thick = max(1, int(round(min(image.shape[:2]) / 300)))
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, thick)
    if face.box.landmarks:
        for lx, ly in face.box.landmarks:
            cv2.circle(image, (int(lx), int(ly)), thick + 1, colour, -1)
    scale = max(0.35, min(1.0, w / 160))
    ty = y - 4
    for line in reversed(_label_text(face)):
        (tw, th), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        ty_top = max(th + 2, ty)
        cv2.rectangle(image, (x, ty_top - th - 3), (x + tw + 4, ty_top + 2), colour, -1)
        cv2.putText(image, line, (x + 2, ty_top - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 1, cv2.LINE_AA)
        ty = ty_top - th - 5
    if face.smile_intensity is not None:  # vertical smile bar to the right of the box
        bar_h = h
        filled = int(round(bar_h * face.smile_intensity))
        bx = min(image.shape[1] - 6, x + w + 3)
        cv2.rectangle(image, (bx, y), (bx + 5, y + bar_h), GREY, 1)
        cv2.rectangle(image, (bx, y + bar_h - filled), (bx + 5, y + bar_h), colour, -1)


def draw_frame(image: np.ndarray, result: FrameResult, show_timing: bool = False) -> np.ndarray:
    """A copy of ``image`` (converted to BGR) with every face drawn."""
    out = image.copy() if image.ndim == 3 and image.shape[2] == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    for face in result.faces:
        draw_face(out, face)
    if show_timing and result.timings_ms:
        t = result.timings_ms
        text = " ".join(f"{k} {v:.1f}ms" for k, v in t.items())
        cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.45, WHITE, 1, cv2.LINE_AA)
    return out


GATE_COLOURS = {"waiting": GREY, "watching": ORANGE, "smiling": (0, 220, 255), "open": GREEN}


def _text(image, text, org, scale=0.5, colour=WHITE) -> None:
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def draw_live(
    image: np.ndarray, result: FrameResult, fps: float | None = None, gate: dict | None = None
) -> np.ndarray:
    """The live overlay: every face (id, labels, smile bar), a latency line (detect or follow,
    classify, total, fps) and, with a gate, its state and hold progress along the bottom."""
    out = draw_frame(image, result)
    t = result.timings_ms or {}
    parts = []
    if t.get("follow"):
        parts.append(f"follow {t['follow']:.1f}")
    elif "detect" in t:
        parts.append(f"detect {t['detect']:.1f}")
    parts += [f"{k} {t[k]:.1f}" for k in ("classify", "total") if k in t]
    text = " ".join(parts) + " ms"
    if fps:
        text += f" | {fps:.1f} fps"
    _text(out, text, (6, 18))
    if gate is not None:
        h, w = out.shape[:2]
        colour = GATE_COLOURS.get(gate["state"], WHITE)
        label = gate["state"].upper()
        if gate["state"] == "open":
            label += f"  (cooldown {gate['cooldown_left_s']:.1f} s)"
        elif gate["state"] == "smiling":
            label += f"  hold {gate['hold_progress'] * 100:.0f}%"
        cv2.rectangle(out, (0, h - 8), (int(w * gate["hold_progress"]), h), colour, -1)
        _text(out, f"gate: {label}  openings {gate['openings']}", (6, h - 14), 0.55, colour)
    return out
