"""``grinlab export``: a trained run -> one ONNX file (softmax probabilities) + its model card;
optionally int8-quantized, or merged with a branch run into one shared-trunk cascade graph."""

from __future__ import annotations

import argparse

NAME = "export"
HELP = "export a run's best checkpoint to ONNX with a model card (checks torch/ONNX parity; --int8, --branch)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        help="run folder made by 'grinlab train' (or a .pt checkpoint); or, with --int8, an exported "
        "MODEL.onnx with its card, to quantize again with this version (calibrated on the training "
        "crops its card names)",
    )
    p.add_argument(
        "--out",
        metavar="MODEL.onnx",
        required=True,
        help="ONNX file to write; the card goes beside it (.json)",
    )
    p.add_argument("--name", help="model name in the card (default: the file name)")
    p.add_argument(
        "--which", default="best", choices=("best", "last"), help="checkpoint to export (default best)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing ONNX file and card")
    p.add_argument(
        "--int8",
        action="store_true",
        help="quantize to int8 (about 2x faster on CPU, 3.5x smaller), calibrated on the run's training "
        "crops; the card's metrics are measured again on the quantized file",
    )
    p.add_argument(
        "--branch",
        metavar="BRANCH_RUN",
        help="RUN_DIR is a cascade's gate: merge it with this branch run (trained with --init-from the "
        "gate --freeze all_but_last) into one graph whose shared blocks run once",
    )
    p.add_argument("--gate-label", help="with --branch: the gate label the branch splits, e.g. smile")
    p.add_argument(
        "--evaluate-test",
        action="store_true",
        help="also measure the written file on the dataset's test split, for the card: read the test "
        "split once, for the model you ship, after choosing it on val",
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import GrinlabError

    if bool(args.branch) != bool(args.gate_label):
        raise GrinlabError("--branch and --gate-label go together (a cascade needs both)")
    if args.run_dir.endswith(".onnx"):
        if not args.int8 or args.branch or args.which != "best":
            raise GrinlabError(
                f"{args.run_dir}: an exported model is only quantized again: add --int8 (and drop "
                "--branch and --which)"
            )
        from ..train.requantize import requantize

        card = requantize(
            args.run_dir, args.out, name=args.name, force=args.force, evaluate_test=args.evaluate_test,
            command=command_line(args),
        )  # fmt: skip
    elif args.branch:
        from ..train.cascade_export import export_shared_cascade

        if args.which != "best":
            raise GrinlabError("a cascade is exported from both runs' best checkpoints; drop --which")
        if args.evaluate_test:
            raise GrinlabError(
                "--evaluate-test is for one network; a cascade's test figures come from its stages' runs"
            )
        card = export_shared_cascade(
            args.run_dir, args.branch, args.gate_label, args.out, name=args.name, force=args.force,
            int8=args.int8, command=command_line(args),
        )  # fmt: skip
    else:
        from ..train.export import export_onnx

        card = export_onnx(
            args.run_dir, args.out, name=args.name, force=args.force, which=args.which,
            int8=args.int8, evaluate_test=args.evaluate_test, command=command_line(args),
        )  # fmt: skip
    parity = card.metrics.get("onnx_parity", {}).get("max_abs_diff", float("nan"))
    line = f"wrote {args.out} and its card ({card.task}: {', '.join(card.labels)}; parity max abs diff {parity:.1e}"
    if args.int8:
        q = card.metrics["int8"]
        line += f"; int8 agrees with float on {q['top1_agreement']:.1%} of {q['n_images']} val faces"
    print(line + ")")
    for split in ("val", "test"):
        if args.int8 or args.branch or (args.evaluate_test and split == "test"):
            m = card.metrics.get(split)
            if m:
                print(
                    f"{split}: accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} (n={m['n']}, this file)"
                )
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The export command as given (for the card), from the parsed options."""
    import shlex

    words = ["grinlab", "export", args.run_dir, "--out", args.out]
    words += ["--name", args.name] if args.name else []
    words += ["--which", args.which] if args.which != "best" else []
    words += ["--branch", args.branch, "--gate-label", args.gate_label] if args.branch else []
    words += ["--int8"] if args.int8 else []
    words += ["--evaluate-test"] if args.evaluate_test else []
    return shlex.join(words + (["--force"] if args.force else []))
