"""Per-video timeline: smile intensity (and each model's top-label probability) over time."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..results import FrameResult

log = logging.getLogger(__name__)


class TimelineAccumulator:
    """Keeps only (seconds, value) pairs per series, so a long video costs a few floats per frame
    rather than its FrameResults."""

    def __init__(self, title: str = ""):
        self.title = title
        self.series: dict[str, list[tuple[float, float]]] = {}

    def add(self, r: FrameResult) -> None:
        _add_frame(self.series, r)

    def write(self, path: Path) -> Path | None:
        return write_series(self.series, path, self.title) if self.series else None


def timeline_series(results: list[FrameResult]) -> dict[str, list[tuple[float, float]]]:
    """name -> [(seconds, value)]: per frame, the mean smile intensity over its faces, and the mean
    probability of each label of each model (frames without faces are gaps)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for r in results:
        _add_frame(series, r)
    return series


def _add_frame(series: dict, r: FrameResult) -> None:
    if r.faces:
        t = (r.timestamp_ms or 0.0) / 1000.0
        smiles = [f.smile_intensity for f in r.faces if f.smile_intensity is not None]
        if smiles:
            series.setdefault("smile intensity", []).append((t, sum(smiles) / len(smiles)))
        for model in r.faces[0].predictions:
            labels = r.faces[0].predictions[model].probabilities
            for label in labels:
                vals = [f.predictions[model].probabilities[label] for f in r.faces if model in f.predictions]
                series.setdefault(f"{model}: {label}", []).append((t, sum(vals) / len(vals)))


def write_timeline(results: list[FrameResult], path: Path) -> Path | None:
    return write_series(timeline_series(results), path, Path(results[0].source).name if results else "")


def write_series(series: dict[str, list[tuple[float, float]]], path: Path, title: str = "") -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("timeline plots need matplotlib (pip install matplotlib); skipped %s", path)
        return None
    fig, ax = plt.subplots(figsize=(10, 3.5), dpi=100)
    for name, pts in series.items():
        if not pts:
            continue
        xs, ys = zip(*pts)
        bold = name == "smile intensity"
        ax.plot(xs, ys, label=name, linewidth=2.5 if bold else 1, alpha=1 if bold else 0.7)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability / intensity")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path
