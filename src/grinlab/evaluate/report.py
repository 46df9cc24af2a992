"""One evaluation report for any predictor (torch checkpoint or ONNX model) on a FaceDataset.

``out_dir``: summary.json, report.md, confusion.png, curves.png (with a training history),
reliability.png, mistakes/<true>__as__<pred>/, mistakes_grid.png.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import FaceDataset
from ..errors import GrinlabError
from ..preprocess import Preprocessing, fit_crop
from .metrics import calibration, classification_summary
from .mistakes import export_mistakes, mistakes_grid
from .plots import plot_confusion, plot_curves, plot_reliability
from .robustness import REGIONS, SCAR_WIDTH, occlusion_accuracy
from .robustness import flip_tta as flip_tta_probs

REPORT_FILES = {"summary.json", "report.md", "confusion.png", "curves.png", "reliability.png",
                "mistakes", "mistakes_grid.png"}  # fmt: skip


def _batched(predict, batch: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([predict(batch[i : i + batch_size]) for i in range(0, len(batch), batch_size)])


def evaluate_predictor(
    predict: Callable[[np.ndarray], np.ndarray],
    dataset: FaceDataset,
    spec: Preprocessing,
    out_dir: str | Path,
    history: list[dict] | None = None,
    flip_tta: bool = True,
    occlusion: bool = True,
    mistakes: bool = True,
    batch_size: int = 256,
    force: bool = False,
    name: str = "",
    mistakes_per_pair: int = 50,
    decision=None,
) -> dict:
    """Evaluate ``predict(uint8 crops at input size) -> (N, C) probs`` on ``dataset`` and write
    the report into ``out_dir``; returns the summary (also written to summary.json).

    ``predict`` gets batches of at most ``batch_size`` crops made by ``grinlab.preprocess.fit_crop``
    with ``spec``; its probabilities must be in ``dataset.classes`` order. ``ms_per_face`` is the
    wall time of the plain pass divided by the number of faces. Flip TTA and occlusion accuracies
    are reported beside the plain accuracy, never instead of it. An existing report folder is
    replaced only with ``force=True``, and a folder that is not a report is never deleted.

    ``decision``: the model's decision rule (a DecisionRule, a loaded classifier or its card;
    None = argmax; grinlab.classify.decision): accuracy, macro-F1, recall, the confusion matrix,
    flip TTA (by the card's flip_tta rule when it has one) and occlusion accuracy and the mistakes
    are all of the labels it decides.
    """
    from ..classify.decision import decide, rule_of

    out = Path(out_dir)
    _make_room(out, force)
    if len(dataset) == 0:
        raise GrinlabError(f"{dataset.name}: no samples to evaluate")
    out.mkdir(parents=True, exist_ok=True)
    classes = dataset.classes
    batch = np.stack([fit_crop(im, spec) for im in dataset.images])
    y = dataset.labels
    run = lambda b: _batched(predict, b, batch_size)  # noqa: E731
    t0 = time.perf_counter()
    probs = np.asarray(run(batch), float)
    ms_per_face = (time.perf_counter() - t0) * 1e3 / len(batch)
    if probs.shape != (len(batch), len(classes)):
        raise GrinlabError(
            f"the predictor returned probabilities of shape {probs.shape} for {len(batch)} faces of "
            f"{dataset.name}, which has {len(classes)} classes ({', '.join(classes)}); "
            "evaluate a model trained on these classes"
        )
    summary = classification_summary(y, probs, classes, decision)
    summary.update({"name": name, "dataset": dataset.summary(), "ms_per_face": round(ms_per_face, 4)})
    tta_rule = None if decision is None else rule_of(decision, flip_tta=True)
    if decision is not None:
        summary["decision"] = rule_of(decision).describe()
    if flip_tta:
        tta = flip_tta_probs(run, batch, probs)
        summary["flip_tta"] = {"accuracy": float((decide(tta, tta_rule) == y).mean()),
                               "macro_f1": classification_summary(y, tta, classes, tta_rule)["macro_f1"]}  # fmt: skip
        if tta_rule is not None:
            summary["flip_tta"]["decision"] = tta_rule.describe()
    if occlusion:
        regions = {k: {"rows": v[0], "cols": v[1]} for k, v in REGIONS.items()}
        regions["scar"] = {"band_width": SCAR_WIDTH, "seeded": True}
        summary["occlusion"] = {"fill": "crop mean", "regions": regions,
                                "accuracy": occlusion_accuracy(run, batch, y, decision)}  # fmt: skip
    cal = calibration(probs, y)
    summary["reliability_bins"] = cal["bins"]
    plot_confusion(summary["confusion"], classes, out / "confusion.png", title=name or dataset.name)
    plot_reliability(cal["bins"], cal["ece"], out / "reliability.png")
    if history:
        plot_curves(history, out / "curves.png")
    if mistakes:
        y_pred = decide(probs, decision)
        summary["mistakes"] = export_mistakes(
            dataset.images,
            y,
            probs,
            classes,
            dataset.sources,
            out / "mistakes",
            per_pair=mistakes_per_pair,
            y_pred=y_pred,
        )
        mistakes_grid(dataset.images, y, probs, classes, out / "mistakes_grid.png", y_pred=y_pred)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(_markdown(summary, classes, bool(history), mistakes))
    return summary


def _make_room(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise GrinlabError(f"{out} is a file; give a folder for the report")
    if not out.exists() or not any(out.iterdir()):
        return
    if not force:
        raise GrinlabError(f"{out} already holds a report; pass --force (force=True) to overwrite it")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in REPORT_FILES)
    if foreign:  # never delete what this function did not write
        raise GrinlabError(
            f"{out} holds files a report does not write ({', '.join(foreign[:3])}); "
            "choose an empty or new folder"
        )
    shutil.rmtree(out)


def _markdown(s: dict, classes, has_curves: bool, has_mistakes: bool) -> str:
    d = s["dataset"]
    lines = [
        f"# Evaluation: {s.get('name') or d['name']} on {d['name']} ({d['split']}, n={s['n']})",
        "",
        f"- accuracy **{s['accuracy']:.4f}** (95% interval {s['accuracy_interval_95'][0]:.3f}-{s['accuracy_interval_95'][1]:.3f}), "
        f"macro-F1 **{s['macro_f1']:.4f}**, ECE {s['ece']:.4f}, log loss {s['log_loss']:.4f}",
    ]
    if s.get("decision"):
        lines.append(f"- labels decided by the model card's rule: {s['decision']}")
    if "flip_tta" in s:
        lines.append(
            f"- with flip test-time augmentation (reported separately): accuracy {s['flip_tta']['accuracy']:.4f}"
        )
    if "occlusion" in s:
        occ = ", ".join(f"{k} masked {v:.4f}" for k, v in s["occlusion"]["accuracy"].items())
        lines.append(f"- occlusion robustness (accuracy, region filled with the crop mean): {occ}")
    lines.append(f"- {s['ms_per_face']:.3f} ms per face (batched, this predictor, this machine)")
    lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for c in classes:
        p = s["per_class"][c]
        lines.append(f"| {c} | {p['precision']:.4f} | {p['recall']:.4f} | {p['f1']:.4f} | {p['support']} |")
    lines += ["", "![confusion](confusion.png)", "", "![reliability](reliability.png)"]
    if has_curves:
        lines += ["", "![curves](curves.png)"]
    if has_mistakes and s.get("mistakes"):
        lines += ["", "Mistakes by (true, predicted) in `mistakes/`; the most confident ones:", "",
                  "![mistakes](mistakes_grid.png)"]  # fmt: skip
    return "\n".join(lines) + "\n"
