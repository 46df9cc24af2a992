"""The end of a run: best.pt evaluated on each split into results.json (metrics from
``grinlab.evaluate.metrics``, the one definition of accuracy and macro-F1) and, when that module
is installed, the evaluation module's report folders; and the run's summary (``RunSummary``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..data.dataset import FaceDataset
from ..evaluate.metrics import classification_metrics
from .devices import resolve_device
from .predict import TorchPredictor, load_run_model
from .run_folder import write_results
from .torch_data import fit_images

# the logger the trainer has always used, so `grinlab train` logs under one name as before the split
log = logging.getLogger("grinlab.train.trainer")


def evaluate_best(
    run_dir: Path, device: str, splits: dict[str, FaceDataset], history: list[dict] | None = None
) -> dict:
    """Metrics of ``run_dir``'s best.pt on each split (results.json), computed on ``device`` (a
    --device name); plus the evaluation module's report (report/ for val, report_<split>/ otherwise)
    with the training ``history`` in it when that module is installed."""
    model, cfg, spec, classes = load_run_model(run_dir, "best", device=resolve_device(device))
    predictor = TorchPredictor(model, spec, device=next(model.parameters()).device, batch_size=256)
    try:
        from ..evaluate.report import evaluate_predictor
    except ModuleNotFoundError as exc:  # only a missing module; a broken one should fail loudly
        if exc.name not in ("grinlab.evaluate", "grinlab.evaluate.report"):
            raise
        evaluate_predictor = None
        log.info("grinlab.evaluate.report not available: writing results.json only")
    results = {}
    for split, ds in splits.items():
        probs = predictor(fit_images(ds, spec))
        results[split] = classification_metrics(ds.labels, probs.argmax(1), classes)
        if evaluate_predictor is not None:
            out = run_dir / ("report" if split == "val" else f"report_{split}")
            evaluate_predictor(predictor, ds, spec, out, history=history, force=True)
    write_results(run_dir, results)
    return results


@dataclass
class RunSummary:
    """What a finished run reports: where it is, how far it got, and the best model's metrics."""

    run_dir: Path
    epochs_run: int
    best_epoch: int
    best_value: float | None
    monitor: str
    stopped_early: bool
    metrics: dict = field(default_factory=dict)  # split -> metrics of best.pt

    def line(self) -> str:
        parts = [
            f"epochs {self.epochs_run}",
            f"best epoch {self.best_epoch} ({self.monitor} {self.best_value:.4f})",
        ]
        for split, m in self.metrics.items():
            parts.append(f"{split} acc {m['accuracy']:.4f} macro-F1 {m['macro_f1']:.4f}")
        if self.stopped_early:
            parts.append("stopped early")
        return "; ".join(parts) + f"; run folder {self.run_dir}"
