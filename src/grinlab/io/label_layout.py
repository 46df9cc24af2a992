"""Where each face's label block goes: outside its box, on no other face and no other label, inside
the image, and sized to the face. Faces are placed largest first (the reader looks at them first);
a face whose block fits nowhere gets None, and the caller draws a numbered legend instead.

A block is a few short lines, one per model ("smile: smile 0.98", "val: no smile 0.93", ...), so
the reader knows which model said what.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from ..results import FaceResult

FONT = cv2.FONT_HERSHEY_SIMPLEX
# model name -> its short name on images (others: the name itself)
SHORT_MODEL = {
    "smile": "smile",
    "valence": "val",
    "emotion7": "emo",
    "emotion8": "emo8",
    "smile_polarity": "pol",
}
SHORT_LABEL = {"no_smile": "no smile", "positive_smile": "pos smile", "negative_smile": "neg smile"}
BAR_GAP = 10  # the smile bar sits in the first pixels right of the box


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def overlaps(self, o: Rect) -> bool:
        return self.x < o.x + o.w and o.x < self.x + self.w and self.y < o.y + o.h and o.y < self.y + self.h


@dataclass(frozen=True)
class Block:
    """A placed label block: its rectangle, lines, text scale and line height in pixels."""

    rect: Rect
    lines: tuple[str, ...]
    scale: float
    line_h: int


def face_lines(face: FaceResult) -> list[str]:
    lines = [f"#{face.track_id}"] if face.track_id is not None else []
    for name, p in face.predictions.items():
        short = SHORT_MODEL.get(name, name[:8])
        lines.append(f"{short}: {SHORT_LABEL.get(p.label, p.label.replace('_', ' '))} {p.score:.2f}")
    return lines


def text_scale(face_w: float) -> float:
    """Text that grows with the face: readable on a 35-px face, not shouting on a 600-px one."""
    return max(0.35, min(0.8, face_w / 200))


def block_size(lines: list[str], scale: float) -> tuple[int, int, int]:
    """(width, height, line height) of a block of ``lines`` at ``scale``."""
    sizes = [cv2.getTextSize(line, FONT, scale, 1)[0] for line in lines]
    line_h = max(h for _, h in sizes) + max(3, int(6 * scale))
    return max(w for w, _ in sizes) + 6, line_h * len(lines) + 3, line_h


def face_rect(face: FaceResult) -> Rect:
    b = face.box
    return Rect(int(round(b.x)), int(round(b.y)), int(round(b.w)), int(round(b.h)))


def _candidates(r: Rect, bw: int, bh: int) -> list[tuple[int, int]]:
    """Top-left corners to try for a bw x bh block beside box r: above and below (left-aligned,
    centred, right-aligned), then right of the smile bar and left (top, middle, bottom)."""
    xs = (r.x, r.x + (r.w - bw) // 2, r.x + r.w - bw)
    ys = (r.y, r.y + (r.h - bh) // 2, r.y + r.h - bh)
    return ([(x, r.y - bh - 2) for x in xs] + [(x, r.y + r.h + 2) for x in xs]
            + [(r.x + r.w + BAR_GAP, y) for y in ys] + [(r.x - bw - 2, y) for y in ys])  # fmt: skip


def _place(faces, boxes, order, shape) -> list[Block | None]:
    height, width = shape[:2]
    # a face's box and its smile bar are off limits to every label
    taken = [Rect(r.x - 1, r.y - 1, r.w + BAR_GAP, r.h + 2) for r in boxes]
    out: list[Block | None] = [None] * len(faces)
    for i in order:
        lines = face_lines(faces[i])
        if not lines:
            continue
        scale = text_scale(boxes[i].w)
        bw, bh, line_h = block_size(lines, scale)
        if bw > width or bh > height:
            continue
        for cx, cy in _candidates(boxes[i], bw, bh):
            cand = Rect(min(max(cx, 0), width - bw), min(max(cy, 0), height - bh), bw, bh)
            if not any(cand.overlaps(t) for t in taken):
                out[i] = Block(cand, tuple(lines), scale, line_h)
                taken.append(cand)
                break
    return out


def layout(faces: list[FaceResult], shape: tuple[int, ...], tries: int = 4) -> list[Block | None]:
    """One Block (or None where none fits) per face, in the order of ``faces``. Largest faces
    choose first; faces left without a place then go first in another try (greedy placement
    depends on the order), and the try that places the most is kept."""
    boxes = [face_rect(f) for f in faces]
    order = sorted(range(len(faces)), key=lambda k: -boxes[k].w * boxes[k].h)
    best = _place(faces, boxes, order, shape)
    for _ in range(tries - 1):
        missing = [i for i, b in enumerate(best) if b is None and face_lines(faces[i])]
        if not missing:
            break
        order = missing + [i for i in order if i not in missing]
        again = _place(faces, boxes, order, shape)
        if sum(b is None for b in again) < sum(b is None for b in best):
            best = again
    return best
