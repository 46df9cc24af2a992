"""grinlab evaluate: a full report for a training run's checkpoint or an ONNX model on a dataset."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "evaluate"
HELP = "evaluate a run (--run) or an ONNX/shipped model (--model) on a dataset; writes a report, prints JSON"


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--run", metavar="RUN_DIR", help="a run folder from `grinlab train` (its best checkpoint)"
    )
    src.add_argument(
        "--model", metavar="MODEL", help="a shipped model name (see `grinlab models`) or an .onnx file"
    )
    p.add_argument("--data", metavar="PATH", help="dataset (default with --run: the run's own data)")
    p.add_argument("--format", default="auto", help="dataset format (default: auto-detect)")
    p.add_argument("--split", default="val", help="split to evaluate: val (default), test, train or all")
    p.add_argument(
        "--pipeline", action="store_true", help="whole photos: detect -> align -> classify, as at runtime"
    )
    p.add_argument("--detector", default="auto", help="detector for --pipeline (default auto)")
    p.add_argument("--yunet-model", metavar="PATH", help="local YuNet file for --pipeline")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="report folder (default: RUN_DIR/evaluate_<split>; required with --model)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing report folder")
    p.add_argument("--no-mistakes", action="store_true", help="do not export misclassified faces")
    p.add_argument("--no-occlusion", action="store_true", help="skip the occlusion robustness test")
    p.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also report accuracy with flip test-time augmentation, beside the plain one (default on)",
    )


def _dataset(args, task, config=None):
    from ..data import load_dataset, load_splits
    from ..errors import GrinlabError

    if config is not None and not args.data:
        from ..train.loaders import load_training_splits

        splits = load_training_splits(config)
    else:
        if not args.data:
            raise GrinlabError("--model needs --data PATH")
        if args.split == "all":
            return load_dataset(args.data, fmt=args.format, task=task)
        splits = load_splits(args.data, fmt=args.format, task=task)
    if args.split == "all":
        from ..data import concat_datasets

        return concat_datasets(list(splits.values()))
    if args.split not in splits:
        raise GrinlabError(
            f"{args.data or config.data} has no {args.split!r} split; it has {', '.join(splits)}"
        )
    return splits[args.split]


def _refuse_existing(out, force: bool) -> None:
    """Fail before any model or data is loaded (evaluate_predictor checks again when writing)."""
    from ..errors import GrinlabError

    if not force and out.is_dir() and any(out.iterdir()):
        raise GrinlabError(f"{out} already holds a report; pass --force to overwrite it")


def run(args) -> int:
    from pathlib import Path

    from ..errors import GrinlabError
    from ..extras import require

    require("matplotlib", what="the evaluation report (its plots)")  # before any folder is made
    from ..evaluate.onnx_eval import crop_with_pipeline, match_classes, whole_photo_share
    from ..evaluate.report import evaluate_predictor
    from ..labels import TASKS

    if args.run:
        from ..train.predict import TorchPredictor, load_run_model

        out = Path(args.out) if args.out else Path(args.run) / f"evaluate_{args.split}"
        _refuse_existing(out, args.force)
        model, config, spec, classes = load_run_model(args.run, "best")
        predict = TorchPredictor(model, spec)
        decision = None  # a training run has no card, hence no rule: argmax
        name, task = Path(args.run).name, config.task
        ds = _dataset(args, task, config)
    else:
        from ..classify import load_classifier
        from ..shipped import resolve_model

        if not args.out:
            raise GrinlabError("--model needs --out DIR for the report")
        out = Path(args.out)
        _refuse_existing(out, args.force)
        clf = load_classifier(resolve_model(args.model))
        spec, classes, name = clf.card.preprocessing, clf.labels, clf.card.name
        predict = clf.predict_prepared
        decision = clf  # the card's rules (plain and flip TTA), as the runtime applies them
        task = clf.card.task if clf.card.task in TASKS else None  # else: class folders as found
        ds = _dataset(args, task)
    ds = match_classes(ds, tuple(classes), name)
    if len(ds) == 0:
        hint = "; pass --split all to evaluate every image" if args.split != "all" else ""
        raise GrinlabError(
            f"{args.data or args.run}: no images to evaluate in the {args.split!r} split{hint}"
        )
    not_found = 0
    opts = {"model_path": args.yunet_model} if args.yunet_model else {}
    if args.pipeline:
        ds, not_found = crop_with_pipeline(ds, args.detector, **opts)
    elif (share := whole_photo_share(ds, args.detector, **opts)) >= 0.5:
        print(f"grinlab evaluate: warning: in {share:.0%} of the images sampled the face is a small part of "
              "the picture: these look like whole photos, evaluated here as face crops; pass --pipeline to "
              "detect and crop each face first", file=sys.stderr)  # fmt: skip
    summary = evaluate_predictor(
        predict, ds, spec, out, flip_tta=args.tta, occlusion=not args.no_occlusion,
        mistakes=not args.no_mistakes, force=args.force, name=name, decision=decision,
    )  # fmt: skip
    brief = {
        k: summary[k]
        for k in ("name", "n", "accuracy", "accuracy_interval_95", "macro_f1", "recall", "ece", "ms_per_face")
    }
    brief["decision"] = summary.get("decision", "argmax")
    brief.update({"dataset": ds.name, "split": args.split, "faces_not_found": not_found, "report": str(out)})
    if "flip_tta" in summary:
        brief["flip_tta_accuracy"] = summary["flip_tta"]["accuracy"]
    print(json.dumps(brief, indent=2))
    return 0
