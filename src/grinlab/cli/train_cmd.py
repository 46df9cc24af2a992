"""``grinlab train``: train a zoo model on a dataset into a run folder (see grinlab.train.trainer)."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..errors import GrinlabError
from ..labels import TASKS
from .options import add_data_option_argument, data_options

NAME = "train"
HELP = "train a network on a dataset into a run folder (checkpoints, metrics, report)"

# CLI option -> TrainConfig field, for options that map one to one.
_FIELDS = {
    "data": "data",
    "format": "data_format",
    "task": "task",
    "model": "model",
    "epochs": "epochs",
    "time_budget": "time_budget",
    "batch_size": "batch_size",
    "optimizer": "optimizer",
    "lr": "lr",
    "weight_decay": "weight_decay",
    "momentum": "momentum",
    "scheduler": "scheduler",
    "warmup_epochs": "warmup_epochs",
    "label_smoothing": "label_smoothing",
    "class_weights": "class_weights",
    "balanced_sampling": "balanced_sampling",
    "patience": "patience",
    "monitor": "monitor",
    "augment": "augment",
    "augment_on": "augment_on",
    "val_fraction": "val_fraction",
    "seed": "seed",
    "init_from": "init_from",
    "freeze": "freeze",
    "keep_head": "keep_head",
    "soft_labels": "soft_labels",
    "teacher_views": "teacher_views",
    "distill_weight": "distill_weight",
    "distill_temperature": "distill_temperature",
    "device": "device",
    "num_workers": "num_workers",
    "max_train_batches": "max_train_batches",
    "amp": "amp",
    "compile": "compile",
    "evaluate_test": "evaluate_test",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    # Every default is None so that "not given" is visible: --resume keeps the stored value then.
    g = p.add_argument_group("data and model")
    g.add_argument(
        "--data", metavar="PATH", help="dataset file or folder (FER2013 csv, image folder, SMILEsmileD, ...)"
    )
    g.add_argument("--format", metavar="FMT", help="dataset format; default auto-detects it from PATH")
    add_data_option_argument(g)
    g.add_argument(
        "--extra-data",
        metavar="PATH",
        action="append",
        help="another dataset for the same task, its splits appended to --data's (repeatable)",
    )
    g.add_argument("--task", help=f"label set: {', '.join(TASKS)}")
    g.add_argument("--model", help="network name from the zoo (see the zoo's list_models())")
    g.add_argument(
        "--out", metavar="RUN_DIR", required=True, help="run folder to create (or continue with --resume)"
    )
    g.add_argument(
        "--val-fraction", type=float, help="share of each class held out for validation (default 0.15)"
    )
    g.add_argument(
        "--seed", type=int, help="seed for the split, init, shuffling and augmentation (default 0)"
    )
    g.add_argument(
        "--input-size", metavar="HxW", help="model input size, e.g. 48 or 64x64 (default: the model's)"
    )
    g.add_argument("--channels", type=int, help="1 (grey) or 3 (BGR) input channels (default: the model's)")
    g.add_argument("--normalization", help="per_image (default), mean_std or unit")

    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, help="number of epochs (default 10)")
    g.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="wall clock for the run: after the first epoch, run as many epochs as fit (at most --epochs) "
        "and end the lr schedule there (for a lent GPU's minutes; default off)",
    )
    g.add_argument("--batch-size", type=int, help="batch size (default 64)")
    g.add_argument("--optimizer", help="sgd, adam (default), adamw, rmsprop or adadelta")
    g.add_argument("--lr", type=float, help="learning rate (default 1e-3)")
    g.add_argument("--weight-decay", type=float, help="weight decay (default 0)")
    g.add_argument("--momentum", type=float, help="momentum for sgd and rmsprop (default 0.9)")
    g.add_argument("--scheduler", help="none (default), cosine, step, plateau or onecycle")
    g.add_argument("--warmup-epochs", type=int, help="linear warmup epochs (default 0)")
    g.add_argument("--label-smoothing", type=float, help="label smoothing in [0, 1) (default 0)")
    g.add_argument("--class-weights", help="none (default) or balanced (loss weights n / (C * n_c))")
    g.add_argument(
        "--balanced-sampling", action="store_true", default=None, help="draw every class equally often"
    )
    g.add_argument("--patience", type=int, help="early stopping after N epochs without improvement (0 = off)")
    g.add_argument(
        "--monitor",
        help="val_loss (default), val_acc or val_macro_f1 (for imbalanced classes): picks best.pt "
        "and drives early stopping and the plateau scheduler",
    )
    g.add_argument("--augment", help="augmentation preset: none, light (default), standard, scar or strong")
    g.add_argument(
        "--augment-on",
        help="where to augment: auto (default: on the GPU when training on CUDA), cpu (albumentations in "
        "the loader) or device (batched tensor ops beside the model)",
    )
    g.add_argument(
        "--soft-labels", action="store_true", default=None, help="train on the dataset's soft labels (FER+)"
    )
    g.add_argument("--amp", action="store_true", default=None, help="mixed precision (CUDA only)")
    g.add_argument(
        "--compile",
        metavar="MODE",
        help="torch.compile the network for the training step: none (default), default, reduce-overhead "
        "(CUDA graphs: for small nets whose GPU step is bound by kernel launches) or max-autotune; the "
        "first batches pay the compilation (tens of seconds), a C++ compiler (CPU) or triton (CUDA) is needed",
    )

    g = p.add_argument_group("transfer learning")
    g.add_argument(
        "--init-from",
        metavar="CKPT",
        help="start from this checkpoint's weights (with a new head; see --keep-head), or from an exported zoo network (.onnx, "
        "float or int8, or a shipped model's name such as emotion8, or a teacher-weights .pt; same architecture and input)",
    )
    g.add_argument(
        "--freeze",
        help="with --init-from: none, all_but_last (train the last block + new head) or backbone (head only)",
    )
    g.add_argument(
        "--keep-head",
        action="store_true",
        default=None,
        help="with --init-from a network of the same labels (a run of the same task, or its float export): "
        "keep its head and continue training it, instead of a new head",
    )

    g = p.add_argument_group("distillation")
    g.add_argument(
        "--teacher",
        metavar="MODEL",
        action="append",
        help="ONNX teacher (shipped name or .onnx with its card) whose soft targets the student learns; "
        "repeat for an ensemble. It must take the student's input size, channels and normalisation",
    )
    g.add_argument(
        "--teacher-views",
        metavar="DIR",
        help="stored teacher views (made by grinlab teacher-views from this run's data): train on those "
        "views and the teachers' stored probabilities on each instead of asking --teacher models online",
    )
    g.add_argument(
        "--distill-weight",
        type=float,
        help="weight of the teacher's targets vs the labels, in (0, 1] (default 0.5)",
    )
    g.add_argument("--distill-temperature", type=float, help="softening temperature T (default 4)")

    g = p.add_argument_group("run control")
    g.add_argument("--device", help="auto (default), cpu or cuda")
    g.add_argument("--num-workers", type=int, help="data loader worker processes (default 0)")
    g.add_argument(
        "--max-train-batches", type=int, help="stop each epoch after N batches (quick runs; 0 = all)"
    )
    g.add_argument(
        "--resume", action="store_true", help="continue the run in RUN_DIR from its last checkpoint"
    )
    g.add_argument("--force", action="store_true", help="overwrite an existing run folder")
    g.add_argument("--evaluate-test", action="store_true", default=None, help="also evaluate the test split")
    g.add_argument("--no-eval", action="store_true", help="skip the evaluation report after training")


def _parse_size(text: str) -> tuple[int, int]:
    try:
        parts = [int(s) for s in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise GrinlabError(f"--input-size must look like 48 or 64x64, got {text!r}")
    return parts[0], parts[1]


def build_config(args: argparse.Namespace):
    """The TrainConfig of these arguments; with --resume, on top of the run's stored config."""
    from ..preprocess import Preprocessing
    from ..train.config import TrainConfig
    from ..train.zoo import get_entry

    base: dict = {}
    stored = Path(args.out) / "config.json"
    if args.resume and stored.is_file():
        base = json.loads(stored.read_text())["config"]
    given = {field: getattr(args, opt) for opt, field in _FIELDS.items() if getattr(args, opt) is not None}
    if not base:
        missing = [f"--{o}" for o in ("data", "task", "model") if getattr(args, o) is None]
        if missing:
            raise GrinlabError(f"missing {', '.join(missing)}; see grinlab train --help")
    values = {**base, **given}
    if args.data_option:
        values["data_options"] = data_options(args.data_option, values.get("data_options"))
    if args.extra_data:
        values["extra_data"] = [str(d) for d in args.extra_data]
    if args.teacher:
        values["teachers"] = [str(t) for t in args.teacher]
    if args.no_eval:
        values["evaluate"] = False
    if (
        not values.get("teachers")
        and not values.get("teacher_views")
        and (args.distill_weight is not None or args.distill_temperature is not None)
    ):
        raise GrinlabError(
            "--distill-weight and --distill-temperature need a --teacher MODEL or --teacher-views DIR"
        )
    if args.input_size or args.channels or args.normalization:
        if values.get("preprocessing"):
            spec = Preprocessing.from_dict(values["preprocessing"])
        else:
            entry = get_entry(values.get("model", "simple_cnn"))
            spec = Preprocessing(size=entry.default_input_size, channels=entry.default_channels)
        values["preprocessing"] = Preprocessing(
            size=_parse_size(args.input_size) if args.input_size else spec.size,
            channels=args.channels or spec.channels,
            normalization=args.normalization or spec.normalization,
            mean=spec.mean if not args.channels or args.channels == spec.channels else (0.5,) * args.channels,
            std=spec.std if not args.channels or args.channels == spec.channels else (0.25,) * args.channels,
        ).to_dict()
    if values.get("data"):
        values["data"] = str(values["data"])
    return TrainConfig.from_dict(values, source="grinlab train")


def command_line(config, run_dir: str) -> str:
    """A command that reproduces ``config``: every option that differs from the defaults."""
    from ..train.config import TrainConfig

    defaults = TrainConfig(model=config.model, task=config.task).to_dict()
    now = config.to_dict()
    words = [
        "grinlab",
        "train",
        "--data",
        config.data,
        "--task",
        config.task,
        "--model",
        config.model,
        "--out",
        run_dir,
    ]
    for opt, field in _FIELDS.items():
        if field in ("data", "task", "model") or now[field] == defaults[field]:
            continue
        flag = "--" + opt.replace("_", "-")
        words += [flag] if isinstance(now[field], bool) else [flag, str(now[field])]
    for path in now.get("extra_data") or ():
        words += ["--extra-data", path]
    for model in now.get("teachers") or ():
        words += ["--teacher", model]
    for key, value in now["data_options"].items():
        words += ["--data-option", f"{key}={json.dumps(value)}"]
    spec, dspec = now["preprocessing"], defaults["preprocessing"]
    if spec["size"] != dspec["size"]:
        words += ["--input-size", "x".join(str(s) for s in spec["size"])]
    if spec["channels"] != dspec["channels"]:
        words += ["--channels", str(spec["channels"])]
    if spec["normalization"] != dspec["normalization"]:
        words += ["--normalization", spec["normalization"]]
    if not config.evaluate:
        words.append("--no-eval")
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from ..train.trainer import train_run

    config = build_config(args)
    summary = train_run(
        config, args.out, force=args.force, resume=args.resume, command=command_line(config, args.out)
    )
    print(summary.line())
    return 0
