"""grinlab cascade: join two exported models into a two-stage cascade card (e.g. smile vs not, then
positive vs negative smile), optionally measured on a dataset's val split."""

from __future__ import annotations

import argparse
import json
import shlex

NAME = "cascade"
HELP = "join a gate model and a branch model into a two-stage cascade card (.json)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gate", required=True, metavar="GATE.onnx", help="first stage, e.g. a smile model")
    p.add_argument("--gate-label", required=True, help="the gate label the branch splits, e.g. smile")
    p.add_argument("--branch", required=True, metavar="BRANCH.onnx", help="second stage, e.g. smile_polarity")
    p.add_argument("--out", required=True, metavar="CARD.json", help="cascade card to write")
    p.add_argument("--name", help="model name in the card (default: the file name)")
    p.add_argument("--data", help="dataset whose split to measure the cascade on (metrics go into the card)")
    p.add_argument("--split", default="val", help="split of --data to measure (default val)")
    p.add_argument("--force", action="store_true", help="overwrite an existing card")


def run(args) -> int:
    from pathlib import Path

    from ..classify.cascade import make_cascade_card
    from ..errors import GrinlabError

    out = Path(args.out)
    if out.suffix != ".json":
        raise GrinlabError(f"{out}: a cascade card is a .json file")
    if out.exists() and not args.force:
        raise GrinlabError(f"{out} exists; pass --force to overwrite it")
    card = make_cascade_card(args.gate, args.branch, args.gate_label, out, name=args.name)
    words = ["grinlab", "cascade", "--gate", args.gate, "--gate-label", args.gate_label]
    words += ["--branch", args.branch, "--out", args.out] + (["--name", args.name] if args.name else [])
    words += ["--data", args.data, "--split", args.split] if args.data else []
    command = shlex.join(words)
    metrics = {}
    if args.data:
        import tempfile

        from ..data import load_splits
        from ..evaluate.onnx_eval import evaluate_onnx

        splits = load_splits(args.data, task=card.task or None)
        if args.split not in splits:
            raise GrinlabError(f"{args.data} has no {args.split!r} split; it has {', '.join(splits)}")
        with tempfile.TemporaryDirectory() as tmp:
            s = evaluate_onnx(out, splits[args.split], Path(tmp) / "report", occlusion=False, mistakes=False)
        metrics[args.split] = {
            "n": s["n"], "accuracy": s["accuracy"], "macro_f1": s["macro_f1"], "recall": s["recall"],
            "data": args.data,
        }  # fmt: skip
    from dataclasses import replace

    card = replace(card, metrics=metrics, command=f"{card.command}\ncascade: {command}".strip())
    card.save(out)
    print(
        json.dumps(
            {"card": str(out), "labels": list(card.labels), "task": card.task, "metrics": metrics}, indent=2
        )
    )
    return 0
