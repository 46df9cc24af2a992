"""The shipped models' table: accuracy on our own validation splits (and FER2013 PrivateTest for
emotion7, evaluated once), ONNX Runtime cost per face batched on this machine, and file size.
Writes benchmarks/results/shipped_models.{json,md}; each model's own card holds the command that
trained it.

    GRINLAB_YUNET_MODEL=../shared/models/face_detection_yunet_2023mar.onnx python benchmarks/shipped_models.py

- emotion7: FER2013 PublicTest (val) and PrivateTest (test); plain and with flip TTA; and the same
  faces against the FER+ majority vote (faces FER+ dropped are left out).
- emotion8: the FER+ majority vote on PublicTest and PrivateTest.
- smile: SMILEsmileD val and GENKI-4K val, each our seeded 15% stratified split; each GENKI val
  photo is read from disk and goes through the runtime's detect (YuNet) -> align -> classify, so the
  GENKI figure is the full pipeline (as `grinlab evaluate --pipeline`).
- valence and every other FaceHack model: our seeded 15% split of FaceHack train.csv.

Each accuracy comes with its Wilson 95% interval (grinlab.evaluate.metrics.accuracy_interval): how
far a held-out set of the same kind and size may land.
Labels are decided by each card's decision rule (grinlab.classify.decision; argmax without one),
as at run time; each row names its rule.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import bench_io
import onnxruntime as ort

from grinlab.classify import DecisionRule
from grinlab.data import load_splits
from grinlab.errors import GrinlabError
from grinlab.evaluate.compare import onnx_ms_per_face
from grinlab.evaluate.metrics import interval_of_accuracy
from grinlab.evaluate.onnx_eval import evaluate_onnx
from grinlab.modelcard import ModelCard
from grinlab.shipped import card_path, list_model_cards, model_size_bytes, shipped_models

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))
DATA = SHARED / "data"

FER = DATA / "fer2013/fer2013.csv.xz"
# FER+ majority labels (10 annotators per face) beside FER2013's own noisy labels
FERPLUS = {"ferplus": str(DATA / "fer2013/ferplus/fer2013new.csv"), "label_mode": "majority"}
# task -> [(label for the table, dataset path, split, through the full pipeline, loader options)]
EVALUATIONS = {
    "emotion7": [("FER2013 PublicTest", FER, "val", False, {}),
                 ("FER2013 PrivateTest", FER, "test", False, {}),
                 ("FER+ majority PublicTest", FER, "val", False, FERPLUS),
                 ("FER+ majority PrivateTest", FER, "test", False, FERPLUS)],
    "emotion8": [("FER+ majority PublicTest", FER, "val", False, FERPLUS),
                 ("FER+ majority PrivateTest", FER, "test", False, FERPLUS)],
    "smile": [("SMILEsmileD val", DATA / "smilesmiled", "val", False, {}),
              ("GENKI-4K val (full pipeline)", DATA / "genki4k", "val", True, {})],
    "valence": [("FaceHack val", DATA / "facehack", "val", False, {})],
    "smile_polarity": [("FaceHack val (smiles)", DATA / "facehack", "val", False, {})],
}  # fmt: skip


def interval(ev: dict) -> str:
    """The accuracy's Wilson 95% interval (rows measured before it was stored: from accuracy and n)."""
    if "n" not in ev:
        return "-"
    lo, hi = ev.get("accuracy_interval_95") or interval_of_accuracy(ev["accuracy"], ev["n"])
    return f"{lo:.3f}-{hi:.3f}"


def also_row_name(card_name: str, path: Path, taken: set[str]) -> str:
    """The row name of an --also model: its card's name, or its file path where a shipped model (or
    another --also) has that name already: a previous export of `emotion8` keeps its card's name,
    and its rows must neither replace the shipped model's nor pass for shipped."""
    return card_name if card_name not in taken else str(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", help="default: every shipped model")
    p.add_argument("--also", nargs="+", default=[], metavar="MODEL",
                   help="more .onnx files or cascade cards to measure beside them, marked not shipped")  # fmt: skip
    p.add_argument("--reports", default=str(HERE / "work" / "shipped_eval"))
    p.add_argument("--keep-other-rows", action="store_true",
                   help="measure only --models/--also and keep the output's other rows as they were (each "
                        "row says when it was measured: costs compare only within one run)")  # fmt: skip
    bench_io.add_output_options(p, "shipped_models")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "shipped_models")
    bench_io.require(DATA)
    paths = shipped_models()
    cards = {c.name: c for c in list_model_cards() if not args.models or c.name in args.models}
    shipped = set(cards)
    for path in map(Path, args.also):
        try:
            card = ModelCard.load(card_path(path))
        except GrinlabError as exc:  # a missing file or card, or a card that is not one
            print(f"{Path(sys.argv[0]).name}: --also {exc}", file=sys.stderr)
            return 2
        name = also_row_name(card.name, path, set(cards) | set(paths))
        cards[name], paths[name] = card, path
    if any(pipeline for c in cards.values() for *_, pipeline, _ in EVALUATIONS.get(c.task, [])):
        # the pipeline rows are the runtime's YuNet -> align -> classify: with Haar instead (the
        # auto detector's fallback) GENKI-4K loses about 30 faces and 1.3 points, silently
        from grinlab.detect import resolve_auto

        if resolve_auto() != "yunet":
            print(
                f"{Path(sys.argv[0]).name}: the full-pipeline rows need YuNet; set GRINLAB_YUNET_MODEL="
                "../shared/models/face_detection_yunet_2023mar.onnx (or run grinlab download yunet)",
                file=sys.stderr,
            )
            return 2
    rows = []
    for name, card in cards.items():
        row = {"model": name, "shipped": name in shipped, "task": card.task, "architecture": card.architecture, "params": card.params,
               "size_bytes": model_size_bytes(paths[name]),
               "ms_per_face_2_threads": round(onnx_ms_per_face(paths[name], 64, 30, threads=2), 4),
               "ms_per_face_1_thread": round(onnx_ms_per_face(paths[name], 64, 30, threads=1), 4),
               "decision": DecisionRule.from_card(card).describe(),
               "decision_flip_tta": DecisionRule.from_card(card, flip_tta=True).describe(),
               "command": card.command, "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "evaluations": []}  # fmt: skip
        for label, data, split, pipeline, options in EVALUATIONS.get(card.task, []):
            ds = load_splits(data, task=card.task, **options)[split]
            folder = label.split()[0].lower().replace("+", "plus")
            summary = evaluate_onnx(paths[name], ds, Path(args.reports) / name / folder / split,
                                    pipeline=pipeline, force=True, occlusion=False)  # fmt: skip
            ev = {"data": label, "n": summary["n"], "faces_not_found": summary["faces_not_found"],
                  "accuracy": round(summary["accuracy"], 4),
                  "accuracy_interval_95": [round(v, 4) for v in summary["accuracy_interval_95"]],
                  "macro_f1": round(summary["macro_f1"], 4),
                  "recall": {k: round(v, 4) for k, v in summary["recall"].items()}}  # fmt: skip
            if "flip_tta" in summary:
                ev["accuracy_flip_tta"] = round(summary["flip_tta"]["accuracy"], 4)
            row["evaluations"].append(ev)
            print(name, json.dumps(ev), flush=True)
        rows.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["python", *sys.argv])
    if args.keep_other_rows and out.with_suffix(".json").is_file():
        before = json.loads(out.with_suffix(".json").read_text())
        measured = {r["model"]: r for r in rows}
        kept = [r for r in before["rows"] if r["model"] not in measured]
        # the shipped first, in the table's order; a model measured now takes its old place
        rows = [measured.pop(r["model"], r) for r in before["rows"]] + list(measured.values())
        rows.sort(key=lambda r: not r["shipped"])
        command = f"{before['command']}\nthen: {command}" if kept else command
    doc = {"command": command, "cpus": os.cpu_count(), "onnxruntime": ort.__version__,
           "cost": "ONNX Runtime CPU, batch of 64 faces already at the model's input size, median of 30", "rows": rows}  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    lines = ["| model | task | data | accuracy | 95% interval | flip TTA | macro-F1 | ms/face (2 thr / 1 thr) | size | measured |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    rules = [f"- {r['model']}: {r['decision']}; flip TTA: {r['decision_flip_tta']}" for r in rows
             if (r["decision"], r["decision_flip_tta"]) != ("argmax", "argmax")]  # fmt: skip
    for r in rows:
        for ev in r["evaluations"] or [{"data": "-", "accuracy": float("nan"), "macro_f1": float("nan")}]:
            lines.append(
                f"| {r['model'] if r['shipped'] else r['model'] + ' (not shipped)'} | {r['task']} | {ev['data']} (n={ev.get('n', '-')}) | {ev['accuracy']:.4f} | "
                f"{interval(ev)} | "
                f"{ev.get('accuracy_flip_tta', float('nan')):.4f} | {ev['macro_f1']:.4f} | "
                f"{r['ms_per_face_2_threads']:.3f} / {r['ms_per_face_1_thread']:.3f} | {r['size_bytes'] / 1e6:.2f} MB | "
                f"{r.get('measured', '')} |"
            )
    if rules:
        lines += ["", "Labels decided by the card's rule (the others: argmax):", *rules]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
