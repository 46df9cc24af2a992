"""Annotation: a box, a smile bar and each model's label per face (or a numbered legend); the live overlay."""

from __future__ import annotations

import cv2
import numpy as np

from ..colour import to_bgr
from ..results import FaceResult, FrameResult
from .label_layout import FONT, Block, Rect, block_size, face_lines, face_rect, layout, text_scale

GREEN = (80, 200, 60)
GREY = (170, 170, 170)
ORANGE = (0, 150, 255)
WHITE = (255, 255, 255)


def _colour(face: FaceResult) -> tuple[int, int, int]:
    if face.smile_intensity is None:
        return GREY
    return GREEN if face.smile_intensity >= 0.5 else ORANGE


def _draw_box(image: np.ndarray, face: FaceResult) -> None:
    """The box, the landmarks and the smile bar right of the box."""
    r, colour = face_rect(face), _colour(face)
    thick = max(1, int(round(min(image.shape[:2]) / 300)))
    cv2.rectangle(image, (r.x, r.y), (r.x + r.w, r.y + r.h), colour, thick)
    for lx, ly in (face.box.landmarks or ()) if r.w >= 60 else ():  # dots would hide a small face
        cv2.circle(image, (int(lx), int(ly)), thick + 1, colour, -1)
    if face.smile_intensity is not None:
        filled = int(round(r.h * face.smile_intensity))
        bx = min(image.shape[1] - 6, r.x + r.w + 3)
        cv2.rectangle(image, (bx, r.y), (bx + 5, r.y + r.h), GREY, 1)
        cv2.rectangle(image, (bx, r.y + r.h - filled), (bx + 5, r.y + r.h), colour, -1)


def _draw_block(image: np.ndarray, block: Block, colour) -> None:
    r = block.rect
    cv2.rectangle(image, (r.x, r.y), (r.x + r.w, r.y + r.h), colour, -1)
    for k, line in enumerate(block.lines):
        base = r.y + (k + 1) * block.line_h - max(2, block.line_h // 5)
        cv2.putText(image, line, (r.x + 3, base), FONT, block.scale, WHITE, 1, cv2.LINE_AA)


def _fallback_block(face: FaceResult, shape) -> Block:
    """Above the box, kept inside the image, when no free place exists (video frames keep their size)."""
    lines = face_lines(face)
    scale = text_scale(face.box.w)
    bw, bh, line_h = block_size(lines, scale)
    r = face_rect(face)
    x = min(max(r.x, 0), max(shape[1] - bw, 0))
    y = r.y - bh - 2 if r.y - bh - 2 >= 0 else min(r.y + r.h + 2, max(shape[0] - bh, 0))
    return Block(Rect(x, y, bw, bh), tuple(lines), scale, line_h)


def _legend_strip(faces: list[FaceResult], width: int, scale: float) -> np.ndarray:
    """A white strip for below the image: each listed face's number and labels (one aligned
    column per model), in as many columns of faces as the width holds."""
    rows = [([f"{f.index + 1}", *face_lines(f)], _colour(f)) for f in faces]
    line_h = max(14, int(34 * scale))
    parts = max(len(cells) for cells, _ in rows)
    widths = [max((cv2.getTextSize(c[k], FONT, scale, 1)[0][0] for c, _ in rows if k < len(c)), default=0) + 12
              for k in range(parts)]  # fmt: skip
    col_w = 14 + sum(widths) + 16
    cols = max(1, min(len(rows), (width - 10) // col_w))
    per_col = (len(rows) + cols - 1) // cols
    strip = np.full((per_col * line_h + 12, max(width, col_w + 10), 3), 255, np.uint8)
    for k, (cells, colour) in enumerate(rows):
        x, y = 10 + (k // per_col) * col_w, 6 + (k % per_col) * line_h
        cv2.rectangle(strip, (x, y + 2), (x + 8, y + line_h - 4), colour, -1)
        cx = x + 14
        for cell, w in zip(cells, widths, strict=False):
            cv2.putText(strip, cell, (cx, y + line_h - 5), FONT, scale, (30, 30, 30), 1, cv2.LINE_AA)
            cx += w
    return strip


def _draw_number(image: np.ndarray, face: FaceResult) -> None:
    """The face's legend number in its box's top-left corner (inside: label blocks never overlap
    a box, so the number covers no label)."""
    r, text = face_rect(face), f"{face.index + 1}"
    scale = max(0.35, min(0.6, r.w / 90))
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, 1)
    x, y = max(0, min(r.x, image.shape[1] - tw - 4)), max(th + 3, r.y + th + 3)
    cv2.rectangle(image, (x, y - th - 3), (x + tw + 4, y + 1), _colour(face), -1)
    cv2.putText(image, text, (x + 2, y - 1), FONT, scale, WHITE, 1, cv2.LINE_AA)


def draw_frame(
    image: np.ndarray, result: FrameResult, show_timing: bool = False, legend: bool | None = None
) -> np.ndarray:
    """A copy of ``image`` (converted to BGR) with every face's box, smile bar and labels; each
    label names its model and sits outside its box on no other face (grinlab.io.label_layout).
    ``legend``: True numbers every face and lists their labels in a strip below the image; None
    (still images) does that only for the faces whose label fits nowhere, so the picture grows by
    a strip only when it must; False never (video frames keep their size: a label that fits
    nowhere goes above its box anyway)."""
    out = to_bgr(image)
    if out is image:  # already BGR: draw on a copy, never on the caller's frame
        out = image.copy()
    faces = list(result.faces)
    blocks = [None] * len(faces) if legend is True else layout(faces, out.shape)
    listed = (
        []
        if legend is False
        else [f for f, b in zip(faces, blocks, strict=True) if b is None and face_lines(f)]
    )
    if legend is None and len(listed) * 3 > len(faces):  # a crowd: one legend reads better than a mix
        blocks, listed = [None] * len(faces), [f for f in faces if face_lines(f)]
    for face in faces:
        _draw_box(out, face)
    for face, block in zip(faces, blocks, strict=True):
        if block is not None:
            _draw_block(out, block, _colour(face))
        elif legend is False and face_lines(face):
            _draw_block(out, _fallback_block(face, out.shape), _colour(face))
    if listed:
        for face in listed:
            _draw_number(out, face)
        scale = max(0.4, min(0.6, out.shape[1] / 2400))
        out = np.vstack([out, _legend_strip(listed, out.shape[1], scale)[:, : out.shape[1]]])
    if show_timing and result.timings_ms:
        t = result.timings_ms
        _text(out, " ".join(f"{k} {v:.1f}ms" for k, v in t.items()), (6, 18), 0.45)
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
    out = draw_frame(image, result, legend=False)  # live frames keep their size
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
