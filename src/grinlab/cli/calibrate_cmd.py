"""grinlab calibrate: choose a model's decision rule (threshold / class weights) on validation data,
print before and after, and with --write store the rule in the model card."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

NAME = "calibrate"
HELP = (
    "choose a model's decision rule on val data (threshold or class weights); --write stores it in its card"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a shipped model name or an .onnx file / cascade card")
    p.add_argument(
        "--data", metavar="PATH", action="append", default=[], help="a dataset (repeatable; pooled)"
    )
    p.add_argument(
        "--pipeline-data",
        metavar="PATH",
        action="append",
        default=[],
        help="a dataset of whole photos that go through detect -> align first, as `evaluate --pipeline` "
        "(repeatable; pooled with --data)",
    )
    p.add_argument("--split", default="val", help="only val: a rule is never chosen on test data")
    p.add_argument(
        "--objective",
        default="balanced_accuracy",
        help="what the rule maximises on the pooled data: balanced_accuracy (default), macro_f1 or accuracy",
    )
    p.add_argument(
        "--constraint",
        default="no_accuracy_loss",
        help="no_accuracy_loss (default: no dataset may lose accuracy against argmax), min_accuracy=X "
        "(every dataset keeps accuracy X or more, e.g. that of the model this one replaces) or none",
    )
    p.add_argument("--label", help="two-label models: the label the threshold is on (default: the second)")
    p.add_argument("--detector", default="auto", help="detector for --pipeline-data (default auto)")
    p.add_argument("--yunet-model", metavar="PATH", help="local YuNet file for --pipeline-data")
    p.add_argument("--out", metavar="FILE.json", help="also write the full result here")
    p.add_argument("--write", action="store_true", help="store the rule and how it was chosen in the card")


def command_line(args) -> str:
    """The command as a user would type it (stored in the card; no timestamps, so that --write
    twice gives the same card)."""
    argv = ["grinlab", "calibrate", args.model]
    for d in args.data:
        argv += ["--data", d]
    for d in args.pipeline_data:
        argv += ["--pipeline-data", d]
    argv += ["--objective", args.objective, "--constraint", args.constraint]
    if args.label:
        argv += ["--label", args.label]
    return shlex.join(argv)


def run(args) -> int:
    from dataclasses import replace

    from ..classify import load_classifier
    from ..errors import GrinlabError
    from ..evaluate.calibrate import OBJECTIVES, accuracy_floor, val_parts
    from ..shipped import card_path, resolve_model

    # every argument checked before any model or data is loaded
    if args.split != "val":
        raise GrinlabError(
            f"calibrate chooses the rule on the val split only, not {args.split!r}: a rule tuned on "
            "test data would make every later test figure optimistic"
        )
    if args.objective not in OBJECTIVES:
        raise GrinlabError(f"unknown objective {args.objective!r}; choose one of {', '.join(OBJECTIVES)}")
    accuracy_floor(args.constraint)  # raises on an unknown constraint
    if not args.data and not args.pipeline_data:
        raise GrinlabError("give at least one dataset: --data PATH and/or --pipeline-data PATH")
    path = resolve_model(args.model)
    clf = load_classifier(path)
    labels = clf.labels
    if args.label and (len(labels) != 2 or args.label not in labels):
        raise GrinlabError(f"--label is for two-label models and must be one of {', '.join(labels)}")
    opts = {"model_path": args.yunet_model} if args.yunet_model else {}
    parts = val_parts(clf, args.data, args.pipeline_data, args.detector, opts)
    records, rules = {}, {}
    for mode, key in (("plain", "decision"), ("flip_tta", "decision_flip_tta")):
        rules[mode], records[key] = _calibrate(parts[mode], labels, args, mode)
        title = clf.card.name + (" (flip TTA)" if mode == "flip_tta" else "")
        print(_table(title, records[key]) + "\n")
        if args.out:
            rule_card = rules[mode].to_card()
            _merge_results(Path(args.out), title, {"decision": rule_card, **records[key]})
    decision = rules["plain"].to_card()
    if rules["flip_tta"] != rules["plain"]:  # TTA shifts the probabilities: its own rule
        decision["flip_tta"] = rules["flip_tta"].to_card()
    if args.write:
        card = clf.card
        new = replace(card, decision=decision, metrics={**card.metrics, **records})
        new.save(card_path(path))  # temp file + rename: a reader never sees half a card
        print(f"wrote the rule into {card_path(path)}")
    return 0


def _calibrate(parts, labels, args, mode: str):
    """(adopted rule, record) for one mode's probabilities."""
    from ..classify import DecisionRule
    from ..evaluate.calibrate import (
        accuracy_floor,
        accuracy_floors,
        choose_rule,
        cross_validate,
        describe_constraint,
        measure,
    )

    rule = choose_rule(parts, labels, args.objective, args.constraint, args.label)
    before, after = measure(parts, DecisionRule(labels)), measure(parts, rule)
    cv = cross_validate(parts, labels, args.objective, args.constraint, args.label)
    # Adopt the rule only when the honest estimate says it helps: the same-val figure always
    # does (argmax is one of the candidates), so it cannot be the judge.
    gain = cv["metrics"]["all"][args.objective] - before["all"][args.objective]
    # The constraint holds for the honest estimate too: a rule that the cross-validation expects
    # to lose accuracy on any dataset is not adopted (valence's weights: +0.011 macro-F1 for -1.3
    # points of accuracy).
    given = accuracy_floor(args.constraint)
    floor = accuracy_floors(args.constraint, before)
    kept = args.constraint == "none" or all(cv["metrics"][k]["accuracy"] >= floor[k] - 1e-12 for k in before)
    # Under a floor of the user's, argmax itself may fall short of it: then the rule is adopted,
    # even at some cost in the objective, when the cross-validation expects it to meet the floor
    # or at least to come closer to it than argmax on every dataset.
    argmax_short = given is not None and any(before[k]["accuracy"] < given for k in before)
    closer = all(cv["metrics"][k]["accuracy"] > before[k]["accuracy"] for k in before)
    if argmax_short:
        ok = (kept or closer) and rule != DecisionRule(labels)
    else:
        ok = kept and gain > 0 and rule != DecisionRule(labels)
    adopted = rule if ok else DecisionRule(labels)
    record = {
        "rule": adopted.describe(),
        "probabilities": "flip TTA (mean of the face and its mirror)" if mode == "flip_tta" else "plain",
        "best_on_val": rule.describe(),
        "adopted": bool(ok),
        "expected_gain": {args.objective: round(gain, 4)},
        "chosen_on": {
            "split": "val",
            "data": [p.name for p in parts],
            "n": int(sum(len(p.y) for p in parts)),
        },
        "objective": args.objective,
        "constraint": describe_constraint(args.constraint),
        "before_argmax": _rounded(before),
        "after_same_val": _rounded(after),
        "expected_cross_validated": _rounded(cv["metrics"]),
        "cross_validation": {"method": cv["method"], "rules": cv["rules"]},
        "note": "after_same_val was chosen and measured on the same samples (optimistic); "
        "expected_cross_validated labels each sample by a rule chosen on the other half; the rule "
        "is adopted only when that expected objective beats argmax and its expected accuracy on each "
        "dataset meets the constraint; under min_accuracy=X with argmax short of X, when its expected "
        "accuracy meets X or is higher than argmax's on each dataset",
        "command": command_line(args),
    }
    return adopted, record


def _rounded(m: dict) -> dict:
    return {k: _rounded(v) if isinstance(v, dict) else (round(v, 4) if isinstance(v, float) else v)
            for k, v in m.items()}  # fmt: skip


def _table(name: str, rec: dict) -> str:
    """Markdown: argmax, the best rule on val and the cross-validated estimate, per dataset."""
    lines = [f"**{name}**: best rule on val: {rec['best_on_val']}; objective {rec['objective']}, "
             f"constraint {rec['constraint']}", "",
             "| data | labels by | n | accuracy | macro-F1 | balanced acc. | recall per class |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    rows = (("argmax", rec["before_argmax"]), ("best rule, same val (optimistic)", rec["after_same_val"]),
            ("expected: 2-fold CV", rec["expected_cross_validated"]))  # fmt: skip
    for key in rec["before_argmax"]:
        for tag, metrics in rows:
            m = metrics[key]
            recall = ", ".join(f"{k} {v:.3f}" for k, v in m["recall"].items())
            lines.append(f"| {key} | {tag} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | "
                         f"{m['balanced_accuracy']:.4f} | {recall} |")  # fmt: skip
    gain = rec["expected_gain"][rec["objective"]]
    verdict = "adopted" if rec["adopted"] else "not adopted (the card keeps argmax)"
    if rec["adopted"] and gain <= 0:
        verdict += (
            " (argmax falls short of the accuracy floor; the rule is expected to meet it or come closer)"
        )
    lines += ["", f"Expected {rec['objective']} gain over argmax (2-fold CV): {gain:+.4f}: {verdict}.",
              "", f"    {rec['command']}"]  # fmt: skip
    return "\n".join(lines)


MD_HEAD = """# Decision rules (grinlab calibrate)

Each rule was chosen on the val split only (the trainer's seeded splits) and is adopted only when
its 2-fold cross-validated objective beats argmax without a lower cross-validated accuracy on any
dataset (under the default no_accuracy_loss constraint). Under min_accuracy=X (the accuracy of the
model a new one replaces) a rule is adopted, even at some cost in the objective, when argmax falls
short of X and the cross-validation expects the rule to meet X or at least to come closer to it on
every dataset. "(flip TTA)" rows are the rule for flip-TTA probabilities (`--flip-tta` at run time).
Probabilities are unchanged; only the decided label moves.

"""


def _merge_results(out: Path, name: str, entry: dict) -> None:
    """``out`` (JSON) holds one entry per model: this model's is replaced, others are kept; the
    Markdown beside it (same name, .md) is rewritten from all of them."""
    from ..errors import GrinlabError

    doc = {}
    if out.is_file():
        try:
            doc = json.loads(out.read_text())
        except json.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict) or not all(isinstance(v, dict) and "rule" in v for v in doc.values()):
            raise GrinlabError(f"{out} is not a calibrate results file; give another --out")
    doc[name] = entry
    doc = dict(sorted(doc.items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((out, json.dumps(doc, indent=2) + "\n"),
                       (out.with_suffix(".md"), MD_HEAD + "\n\n".join(_table(k, v) for k, v in doc.items()) + "\n")):  # fmt: skip
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
