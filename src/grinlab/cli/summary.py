"""What `analyze` and `demo` print after a run: which detector ran (and what YuNet would change
when it was Haar), a per-face table for a few images, one line per video with its speed, and a
total. Read back from the run's results.jsonl, the same rows a user gets."""

from __future__ import annotations

import json
from pathlib import Path

TABLE_UP_TO = 10  # still images: a table per image up to this many, else one line each up to 50
HAAR_NOTE = ("note: the Haar cascade ran (YuNet is not installed); it misses small, turned and half-hidden "
             "faces (the back rows of a group photo). `grinlab download yunet` fetches YuNet (230 kB, "
             "sha256-checked), which analyze then uses by default.")  # fmt: skip


def smiling(face: dict) -> bool:
    """A smile by the smile model when it ran, else by the smile intensity."""
    smile = face["predictions"].get("smile")
    if smile is not None:
        return smile["label"] == "smile"
    return (face.get("smile_intensity") or 0.0) >= 0.5


def _face_row(face: dict, models: list[str]) -> list[str]:
    b = face["box"]
    cells = [f"#{face['index']}", f"{b['x']:.0f},{b['y']:.0f} {b['w']:.0f}x{b['h']:.0f}"]
    for m in models:
        p = face["predictions"].get(m)
        cells.append(f"{p['label']} {p['score']:.2f}" if p else "-")
    intensity = face.get("smile_intensity")
    cells.append("-" if intensity is None else f"{intensity:.2f}")
    return cells


def _table(rows: list[list[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def print_results(out_dir: Path, detector: str, models: list[str], print_=print) -> None:
    frames = [json.loads(x) for x in (Path(out_dir) / "results.jsonl").read_text().splitlines() if x.strip()]
    by_source: dict[str, list[dict]] = {}
    for f in frames:
        by_source.setdefault(f["source"], []).append(f)
    stills = {s: fs for s, fs in by_source.items() if len(fs) == 1 and fs[0].get("timestamp_ms") is None}
    videos = {s: fs for s, fs in by_source.items() if s not in stills}
    print_(f"detector {detector}; models {', '.join(models)}")
    for source, (frame,) in list(stills.items())[: 50 if len(stills) > TABLE_UP_TO else TABLE_UP_TO]:
        name = Path(source).name
        if frame.get("error"):
            print_(f"  {name}: failed: {frame['error']}")
            continue
        faces = frame["faces"]
        ms = frame.get("timings_ms", {}).get("total", 0.0)
        print_(f"  {name}: {len(faces)} face(s), {sum(map(smiling, faces))} smiling; {ms:.0f} ms")
        if faces and len(stills) <= TABLE_UP_TO:
            header = ["face", "box", *models, "intensity"]
            print_("\n".join(_table([header, *(_face_row(f, models) for f in faces)])))
    if len(stills) > 50:
        print_(f"  ... and {len(stills) - 50} more image(s) (all of them in results.jsonl)")
    for source, fs in videos.items():
        ok = [f for f in fs if not f.get("error")]
        faces = sum(len(f["faces"]) for f in ok)
        total_ms = sum(f.get("timings_ms", {}).get("total", 0.0) for f in ok)
        fps = len(ok) / (total_ms / 1000.0) if total_ms else 0.0
        share = sum(smiling(x) for f in ok for x in f["faces"]) / faces if faces else 0.0
        line = (f"  {Path(source).name}: {len(ok)} frame(s) analysed at {fps:.1f} frames/s, "
                f"{faces / max(len(ok), 1):.1f} face(s) per frame, {share:.0%} of faces smiling")  # fmt: skip
        errors = [f["error"] for f in fs if f.get("error")]
        print_(line + (f"; failed: {errors[0]}" if errors else ""))
    if detector == "haar":
        print_(HAAR_NOTE)
