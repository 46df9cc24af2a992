"""grinlab models: the models shipped in this install, with task, labels, size, metrics and the
command that made each one."""

from __future__ import annotations

import argparse
import json

NAME = "models"
HELP = "list the shipped models (task, labels, size, metrics, how each was made)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the model cards as JSON")


def run(args) -> int:
    from ..shipped import list_model_cards, model_size_bytes, shipped_models

    paths = shipped_models()
    cards = list_model_cards()
    if args.json:
        out = []
        for card in cards:
            d = card.to_dict()
            d["path"] = str(paths[card.name])
            d["size_bytes"] = model_size_bytes(paths[card.name])
            out.append(d)
        print(json.dumps(out, indent=2))
        return 0
    if not cards:
        print("no models are shipped in this install")
        return 0
    for card in cards:
        size_kb = model_size_bytes(paths[card.name]) / 1024
        print(f"{card.name}  task={card.task}  labels={','.join(card.labels)}  {size_kb:.0f} KB  "
              f"{card.architecture} ({card.params:,} params)")  # fmt: skip
        for split, m in card.metrics.items():
            if isinstance(m, dict) and "accuracy" in m:
                print(
                    f"    {split}{_measured_on(card, split, m)}: accuracy {m['accuracy']:.4f}"
                    + _interval(m)
                    + (f", macro-F1 {m['macro_f1']:.4f}" if "macro_f1" in m else "")
                )
        if card.decision or "decision" in card.metrics:
            from ..classify.decision import DecisionRule

            line = f"    decision: {DecisionRule.from_card(card).describe()}"
            if "flip_tta" in card.decision:
                line += f"; with --flip-tta: {DecisionRule.from_card(card, flip_tta=True).describe()}"
            rec = card.metrics.get("decision") or {}
            got, cv = (rec.get(k, {}).get("all") for k in ("after_same_val", "expected_cross_validated"))
            # the split figures above are of argmax; these are of the labels the rule decides
            if got and cv and rec.get("adopted", True):
                line += (f" (val: accuracy {got['accuracy']:.4f}, macro-F1 {got['macro_f1']:.4f}; "
                         f"2-fold CV expects {cv['accuracy']:.4f}, {cv['macro_f1']:.4f})")  # fmt: skip
            if rec and not rec.get("adopted", True):
                line += f" (without TTA, {rec.get('best_on_val')} did not help in 2-fold CV, so argmax stays)"
            print(line)
        if card.command:
            print("    made by: " + card.command.replace("\n", "\n             "))
    return 0


def _measured_on(card, split: str, metrics: dict) -> str:
    """' (dataset, n=N)': which data a split's figure pools (e.g. smilesmiled+genki4k)."""
    splits = card.dataset.get("splits") if isinstance(card.dataset, dict) else None
    where = (splits or {}).get(split, {}).get("name")
    parts = [where] if where else []
    if "n" in metrics:
        parts.append(f"n={metrics['n']}")
    return f" ({', '.join(parts)})" if parts else ""


def _interval(m: dict) -> str:
    """ " (95% a-b)": the accuracy's Wilson interval, from the card's accuracy and n."""
    if not isinstance(m.get("n"), int) or m["n"] <= 0:
        return ""
    from ..evaluate.metrics import interval_of_accuracy

    lo, hi = interval_of_accuracy(m["accuracy"], m["n"])
    return f" (95% {lo:.3f}-{hi:.3f})"
