"""FER2013 (Kaggle ``fer2013.csv``, plain, .gz or .xz) with optional FER+ crowd votes.

The whole file is parsed once with numpy (about 10 s for the 300 MB csv) and cached as an .npz of
all rows, so every later load, whatever its usage/task/label options, takes well under two seconds.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import logging
import lzma
import os
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..labels import EMOTION7, EMOTION8, FERPLUS, FERPLUS_TO_EMOTION8, map_emotion7, task_labels
from .cache import cached_arrays
from .dataset import FaceDataset

log = logging.getLogger(__name__)

HEADER = "emotion,pixels,Usage"
USAGES = ("Training", "PublicTest", "PrivateTest")
SPLIT_OF_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
LABEL_MODES = ("original", "majority", "soft", "blend")
SIDE = 48
NPIX = SIDE * SIDE
FERPLUS_HEADER = ("Usage", "Image name", *FERPLUS, "unknown", "NF")
# Rows whose pixels were estimated (see the dataset README); looked for beside the csv.
APPROX_ROWS_FILE = "fer2013_approx_rows.csv"
_PIXEL_CHARS = b"0123456789 "


def _read_bytes(path: Path) -> bytes:
    """The decompressed bytes of a .csv, .csv.gz, .csv.xz or .csv.bz2 file."""
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise GrinlabError(
            f"{path}: cannot read it ({exc}); expected a fer2013.csv, .csv.gz or .csv.xz"
        ) from None


def read_first_line(path: str | os.PathLike) -> str:
    """The header line of a (possibly compressed) csv, without decompressing the whole file."""
    path = Path(path)
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    try:
        with opener(path, "rb") as f:
            line = f.readline(4096)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise GrinlabError(f"{path}: cannot read it ({exc})") from None
    return line.decode("utf-8", "replace").lstrip("\ufeff").strip()


def _row_error(path: Path, row: int, what: str) -> GrinlabError:
    return GrinlabError(f"{path} row {row}: {what}")


def _parse(path: Path) -> dict[str, np.ndarray]:
    """Parse and validate every row: pixels (N, 48, 48) uint8, emotion (N,), usage (N,) index into
    USAGES, blank (N,) bool. Rows are numbered from 1 after the header in error messages."""
    log.info("parsing %s (once; later loads use the cache)", path)
    return parse_rows(_read_bytes(path), path)


def parse_rows(data: bytes, path: Path | str = "fer2013.csv") -> dict[str, np.ndarray]:
    """The rows of a FER2013 csv held in ``data`` (``path`` names it in errors): see ``_parse``."""
    lines = data.split(b"\n")
    header = lines[0].decode("utf-8", "replace").lstrip("\ufeff").strip()
    if header != HEADER:
        raise GrinlabError(
            f"{path}: header is {header[:80]!r}, expected {HEADER!r} (the Kaggle fer2013.csv format)"
        )
    while lines and not lines[-1].strip():
        lines.pop()
    rows = lines[1:]
    if not rows:
        raise GrinlabError(f"{path}: no data rows after the header {HEADER!r}")
    usage_code = {u.encode(): i for i, u in enumerate(USAGES)}
    emotion = np.empty(len(rows), np.int8)
    usage = np.empty(len(rows), np.int8)
    pixel_fields = []
    for i, line in enumerate(rows):
        parts = line.rstrip(b"\r").split(b",")
        if len(parts) != 3:
            raise _row_error(path, i + 1, f"has {len(parts)} comma-separated fields, expected 3 ({HEADER})")
        e, p, u = parts
        try:
            e = int(e)
        except ValueError:
            e = -1
        if not 0 <= e < len(EMOTION7):
            raise _row_error(path, i + 1, f"emotion is {parts[0].decode(errors='replace')!r}, expected 0..6")
        code = usage_code.get(u.strip().strip(b'"'))
        if code is None:
            raise _row_error(
                path, i + 1, f"Usage is {u.decode(errors='replace')!r}, expected one of {USAGES}"
            )
        emotion[i], usage[i] = e, code
        p = p.strip().strip(b'"').strip()
        if p.count(b" ") != NPIX - 1:  # slow path only for odd spacing or a wrong count
            tokens = p.split()
            if len(tokens) != NPIX:
                raise _row_error(
                    path, i + 1, f"pixels has {len(tokens)} values, expected {NPIX} integers 0..255"
                )
            p = b" ".join(tokens)
        pixel_fields.append(p)
    joined = b" ".join(pixel_fields)
    if joined.translate(None, _PIXEL_CHARS):
        for i, p in enumerate(pixel_fields):
            if p.translate(None, _PIXEL_CHARS):
                # split on spaces only: a tab or other whitespace is itself the bad character
                bad = next(t for t in p.split(b" ") if t.translate(None, _PIXEL_CHARS[:10]))
                raise _row_error(
                    path,
                    i + 1,
                    f"pixels has {bad.decode(errors='replace')!r}, expected integers 0..255 "
                    "separated by single spaces",
                )
    values = np.fromstring(joined, dtype=np.int32, sep=" ")
    if values.size != len(rows) * NPIX:  # e.g. a doubled space hiding a missing value
        for i, p in enumerate(pixel_fields):
            if len(p.split()) != NPIX:
                raise _row_error(path, i + 1, f"pixels has {len(p.split())} values, expected {NPIX}")
    if values.max() > 255:
        at = int(np.argmax(values > 255))
        raise _row_error(path, at // NPIX + 1, f"pixel value {values[at]} is out of range, expected 0..255")
    pixels = values.astype(np.uint8).reshape(-1, SIDE, SIDE)
    flat = pixels.reshape(len(rows), -1)
    blank = flat.max(axis=1) == flat.min(axis=1)
    return {"pixels": pixels, "emotion": emotion, "usage": usage, "blank": blank}


def _read_ferplus(path: Path, usage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FER+ votes as (N, 8) counts in emotion8 order (emotion7, then contempt) and a (N,) "FER+
    kept this image" flag (non-empty name)."""
    if not path.is_file():
        raise GrinlabError(
            f"FER+ file {path} not found; expected ferplus/fer2013new.csv from microsoft/FERPlus"
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = tuple(c.strip() for c in next(reader, []))
            if header != FERPLUS_HEADER:
                raise GrinlabError(
                    f"{path}: header is {','.join(header)!r}, expected {','.join(FERPLUS_HEADER)!r}"
                )
            rows = list(reader)
    except UnicodeDecodeError:  # e.g. the (compressed) fer2013 csv given as the votes
        raise GrinlabError(
            f"{path}: not a text csv; expected the uncompressed ferplus/fer2013new.csv from microsoft/FERPlus"
        ) from None
    rows = [r for r in rows if r]
    if len(rows) != len(usage):
        raise GrinlabError(
            f"{path} has {len(rows)} rows but the fer2013 csv has {len(usage)}; "
            "the FER+ file must have one row per fer2013 row, in the same order"
        )
    column_of = [FERPLUS.index(f) for f in FERPLUS_TO_EMOTION8]
    target_of = [EMOTION8.index(e) for e in FERPLUS_TO_EMOTION8.values()]
    votes = np.zeros((len(rows), len(EMOTION8)), np.float32)
    kept = np.zeros(len(rows), bool)
    for i, r in enumerate(rows):
        if len(r) != len(FERPLUS_HEADER):
            raise _row_error(path, i + 1, f"has {len(r)} fields, expected {len(FERPLUS_HEADER)}")
        if r[0] != USAGES[usage[i]]:
            raise _row_error(
                path, i + 1, f"Usage {r[0]!r} differs from the fer2013 csv's {USAGES[usage[i]]!r}"
            )
        try:
            counts = [int(r[2 + c]) for c in column_of]
        except ValueError:
            raise _row_error(path, i + 1, "vote counts must be integers") from None
        votes[i, target_of] = counts
        kept[i] = bool(r[1].strip())
    return votes, kept


def _read_approx_rows(csv_path: Path) -> np.ndarray:
    """0-based data rows listed in fer2013_approx_rows.csv beside the csv (empty if there is none)."""
    path = csv_path.parent / APPROX_ROWS_FILE
    if not path.is_file():
        return np.zeros(0, np.int64)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "row" not in reader.fieldnames:
            raise GrinlabError(f"{path}: expected a 'row' column (0-based fer2013 data row)")
        try:
            return np.array([int(r["row"]) for r in reader], np.int64)
        except ValueError:
            raise GrinlabError(f"{path}: the 'row' column must hold integers") from None


def _load_rows(path: Path, cache: bool) -> dict[str, np.ndarray]:
    return cached_arrays("fer2013", [path], {"parser": "fer2013-v1"}, lambda: _parse(path), enabled=cache)


def load_fer2013(
    path: str | os.PathLike,
    usage: str | None = None,
    task: str = "emotion7",
    ferplus: str | os.PathLike | None = None,
    label_mode: str = "original",
    ferplus_weight: float = 0.5,
    skip_blank: bool = True,
    cache: bool = True,
) -> FaceDataset:
    """Load FER2013 48x48 grey faces.

    usage: None (all rows) or one of "Training", "PublicTest", "PrivateTest".
    task: "emotion7" or "happy_neutral" (happy -> smile, neutral -> no_smile, other rows dropped).
    ferplus: path to FER+ ``fer2013new.csv``. With it, rows FER+ dropped (empty image name), rows
        without any emotion7 vote and the approximate rows of ``fer2013_approx_rows.csv`` are skipped.
    label_mode: "original" (the csv's emotion), "majority" (argmax of the FER+ emotion7 votes; a tie
        goes to the first class in emotion7 order) or "soft" (majority plus ``soft_labels``, the
        normalised votes over the task's classes) or "blend": the csv's emotion stays the label and
        every row is kept, so the splits are FER2013's own, while ``soft_labels`` are
        ``ferplus_weight`` x the normalised votes + the rest x the label (a row without usable
        votes: its label alone). The last three need ``ferplus``. "blend" teaches FER2013's labels
        with the annotators' doubt as a soft signal (``--soft-labels``), where "soft" changes the labels.
    skip_blank: drop zero-variance images (counted in ``skipped["blank"]``).
    """
    path = Path(path)
    classes = task_labels(task)
    map_emotion7(EMOTION7[0], task)  # raises for tasks FER2013 cannot serve
    if usage is not None and usage not in USAGES:
        raise GrinlabError(f"usage must be one of {USAGES} or None, got {usage!r}")
    if label_mode not in LABEL_MODES:
        raise GrinlabError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    if task == "emotion8" and (ferplus is None or label_mode in ("original", "blend")):
        raise GrinlabError(
            "emotion8 (with contempt) is learnt from the FER+ votes: pass ferplus=<path to fer2013new.csv> "
            "and label_mode majority or soft (--data-option ferplus=... --data-option label_mode=soft)"
        )
    if label_mode != "original" and ferplus is None:
        raise GrinlabError(
            f"label_mode {label_mode!r} needs the FER+ votes: pass ferplus=<path to fer2013new.csv>"
        )
    weight_is_number = isinstance(ferplus_weight, (int, float)) and not isinstance(ferplus_weight, bool)
    if label_mode == "blend" and not (weight_is_number and 0.0 < ferplus_weight <= 1.0):
        raise GrinlabError(f"ferplus_weight must be in (0, 1], got {ferplus_weight!r}")
    if not path.is_file():
        raise GrinlabError(f"FER2013 file {path} not found; expected fer2013.csv (or .csv.gz / .csv.xz)")

    rows = _load_rows(path, cache)
    n = len(rows["emotion"])
    keep = np.ones(n, bool) if usage is None else rows["usage"] == USAGES.index(usage)
    skipped: Counter[str] = Counter()

    def drop(mask: np.ndarray, reason: str) -> None:
        hit = keep & mask
        if hit.any():
            skipped[reason] += int(hit.sum())
            keep[hit] = False

    emotion = rows["emotion"].astype(np.int64)
    votes = None
    if ferplus is not None:
        votes, kept_by_ferplus = _read_ferplus(Path(ferplus), rows["usage"])
        if task != "emotion8":  # contempt has no emotion7 class: its votes are left out
            votes = votes[:, : len(EMOTION7)]
        approx_rows = _read_approx_rows(path)
        approx = np.zeros(n, bool)
        approx[approx_rows[(approx_rows >= 0) & (approx_rows < n)]] = True
        unusable = {
            "ferplus_dropped": ~kept_by_ferplus,
            "approximate_row": approx,
            f"ferplus_no_{task if task == 'emotion8' else 'emotion7'}_votes": votes.sum(axis=1) == 0,
        }
        if label_mode == "blend":  # the row stays, with its label alone as its target
            votes = np.where(np.logical_or.reduce(list(unusable.values()))[:, None], 0, votes)
        else:
            for reason, mask in unusable.items():
                drop(mask, reason)
        if label_mode in ("majority", "soft"):
            emotion = np.argmax(votes, axis=1)
    if skip_blank:
        drop(rows["blank"], "blank")

    source = EMOTION8 if task == "emotion8" else EMOTION7
    to_task = np.array([classes.index(m) if (m := map_emotion7(e, task)) else -1 for e in source])
    labels = to_task[emotion]
    drop(labels < 0, "not_in_task")

    idx = np.flatnonzero(keep)
    soft = None
    if label_mode in ("soft", "blend"):
        soft = np.zeros((len(idx), len(classes)), np.float32)
        for e, t in enumerate(to_task):
            if t >= 0:
                soft[:, t] += votes[idx, e]
        total = soft.sum(axis=1, keepdims=True)
        soft /= np.maximum(total, 1e-12)  # "blend" rows without votes stay zero here
    if label_mode == "blend":
        label = np.eye(len(classes), dtype=np.float32)[labels[idx]]
        soft = np.where(total > 0, ferplus_weight * soft + (1 - ferplus_weight) * label, label)
    pixels = rows["pixels"]
    return FaceDataset(
        name="fer2013" if ferplus is None else "fer2013+ferplus",
        task=task,
        classes=classes,
        images=[pixels[i] for i in idx],
        labels=labels[idx],
        sources=[f"{path.name}:row {i + 1}" for i in idx],
        soft_labels=soft,
        skipped=dict(skipped),
        split=SPLIT_OF_USAGE.get(usage, "all"),
    )


def fer2013_splits(path: str | os.PathLike, task: str = "emotion7", **options) -> dict[str, FaceDataset]:
    """The standard protocol: train = Training, val = PublicTest, test = PrivateTest."""
    return {SPLIT_OF_USAGE[u]: load_fer2013(path, usage=u, task=task, **options) for u in USAGES}
