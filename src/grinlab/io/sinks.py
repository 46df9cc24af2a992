"""Row sinks: JSONL and CSV, one row per face (or per item without faces / with an error).

Rows are appended and flushed per item; a manifest of finished items (``done.txt``) lets
``--resume`` drop the rows of the one item a killed run was in the middle of and skip the rest.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..results import FrameResult

CSV_COLUMNS = [
    "source", "frame", "time_ms", "face", "x", "y", "w", "h", "detector_score",
    "smile_intensity", "model", "label", "score", "probabilities", "error",
]  # fmt: skip


def frame_rows(result: FrameResult | None, source: str, frame: int, error: str | None = None) -> list[dict]:
    """Flat rows: one per (face, model); one row with empty face fields for a frame without faces
    or with an error."""
    if result is None or not result.faces:
        return [{"source": source, "frame": frame, "time_ms": result.timestamp_ms if result else None,
                 "face": None, "error": error}]  # fmt: skip
    rows = []
    for face in result.faces:
        for name, p in face.predictions.items():
            rows.append(
                {
                    "source": source,
                    "frame": frame,
                    "time_ms": result.timestamp_ms,
                    "face": face.index,
                    "x": round(face.box.x, 1),
                    "y": round(face.box.y, 1),
                    "w": round(face.box.w, 1),
                    "h": round(face.box.h, 1),
                    "detector_score": round(face.box.score, 4),
                    "smile_intensity": None
                    if face.smile_intensity is None
                    else round(face.smile_intensity, 4),
                    "model": name,
                    "label": p.label,
                    "score": round(p.score, 4),
                    "probabilities": json.dumps({k: round(v, 4) for k, v in p.probabilities.items()}),
                    "error": None,
                }  # fmt: skip
            )
    return rows


def jsonl_line(result: FrameResult | None, source: str, frame: int, error: str | None = None) -> str:
    """One line of results.jsonl: the frame's result, or an error row for the input."""
    obj = result.to_dict() if result is not None else {"source": source, "frame_index": frame, "faces": []}
    if error:
        obj["error"] = error
    return json.dumps(obj) + "\n"


class RowSink:
    """An append-only row file. Rows of an item count only once the item is recorded as done in
    the run's manifest (see ``Manifest``); ``prune`` drops rows of unfinished items on resume."""

    def __init__(self, path: Path, resume: bool = False, done: set[str] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self._prune(done or set())
        elif self.path.exists():
            self.path.unlink()
        self.fresh = not self.path.exists() or self.path.stat().st_size == 0
        self._f = open(self.path, "a", newline="")

    def _prune(self, done: set[str]) -> None:
        keep = [
            line for line in self.path.read_text().splitlines(keepends=True) if self._source_of(line) in done
        ]
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(keep))
        os.replace(tmp, self.path)

    def _source_of(self, line: str) -> str | None:
        raise NotImplementedError

    def flush(self) -> None:
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        if not self._f.closed:
            self.flush()
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class JsonlSink(RowSink):
    """One JSON object per frame: the full FrameResult (or the error)."""

    def _source_of(self, line: str) -> str | None:
        try:
            return json.loads(line)["source"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return None  # a torn last line from a killed run

    def write_frame(self, result: FrameResult | None, source: str, frame: int, error: str | None = None):
        self._f.write(jsonl_line(result, source, frame, error))


class CsvSink(RowSink):
    def __init__(self, path: Path, resume: bool = False, done: set[str] | None = None):
        super().__init__(path, resume, done)
        self._w = csv.DictWriter(self._f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        if self.fresh:
            self._w.writeheader()

    def _prune(self, done: set[str]) -> None:
        lines = self.path.read_text().splitlines(keepends=True)
        rows = list(csv.DictReader(lines))
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(r for r in rows if r.get("source") in done)
        os.replace(tmp, self.path)

    def write_frame(self, result: FrameResult | None, source: str, frame: int, error: str | None = None):
        for row in frame_rows(result, source, frame, error):
            self._w.writerow(row)


class Manifest:
    """``done.txt`` in the output folder: one finished source per line, written after its rows are
    flushed, so a killed run redoes at most the item it was working on."""

    def __init__(self, path: Path, resume: bool = False):
        self.path = Path(path)
        if not resume and self.path.exists():
            self.path.unlink()
        text = self.path.read_text() if self.path.exists() else ""
        if text and not text.endswith("\n"):  # a line torn by a kill: that input is not done
            text = text[: text.rfind("\n") + 1]
            with open(self.path, "r+") as f:
                f.truncate(len(text.encode()))
        self.done: set[str] = set(text.splitlines())
        self._f = open(self.path, "a")

    def mark(self, source: str) -> None:
        self._f.write(source + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.done.add(source)

    def close(self) -> None:
        self._f.close()
