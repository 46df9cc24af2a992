"""``grinlab teacher-views``: run slow teachers once on stored augmented views of the training
crops (grinlab.train.teacher_views), for ``grinlab train --teacher-views DIR``."""

from __future__ import annotations

import argparse

from ..errors import GrinlabError
from ..labels import TASKS
from .options import add_data_option_argument, data_options

NAME = "teacher-views"
HELP = "store seeded augmented views of a training set and the teachers' probabilities on each"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", metavar="PATH", required=True, help="the training dataset (as for grinlab train)"
    )
    p.add_argument("--extra-data", metavar="PATH", action="append", help="another dataset (repeatable)")
    add_data_option_argument(p)
    p.add_argument("--task", required=True, help=f"label set: {', '.join(TASKS)}")
    p.add_argument(
        "--teacher", metavar="MODEL", action="append", required=True, help="ONNX teacher (repeat for several)"
    )
    p.add_argument("--views", type=int, default=8, help="views per training crop (default 8)")
    p.add_argument("--augment", default="strong", help="augmentation preset of the views (default strong)")
    p.add_argument("--seed", type=int, default=0, help="the split's and the views' seed (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.15, help="as for grinlab train (default 0.15)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the views")
    p.add_argument("--resume", action="store_true", help="add the missing views to DIR")
    p.add_argument("--force", action="store_true", help="overwrite the views in DIR")


def run(args: argparse.Namespace) -> int:
    if args.views < 1:  # before the data and the teachers are loaded
        raise GrinlabError(f"--views must be at least 1, got {args.views}")
    from ..modelcard import ModelCard
    from ..shipped import resolve_model
    from ..train.config import TrainConfig
    from ..train.loaders import load_training_splits
    from ..train.run_folder import default_command
    from ..train.teacher_views import build_views
    from ..train.torch_data import fit_images

    options = data_options(args.data_option)
    spec = ModelCard.load(resolve_model(args.teacher[0]).with_suffix(".json")).preprocessing
    config = TrainConfig(
        task=args.task,
        data=str(args.data),
        extra_data=tuple(args.extra_data or ()),
        data_options=options,
        val_fraction=args.val_fraction,
        seed=args.seed,
        augment=args.augment,
        preprocessing=spec,
    )
    splits = load_training_splits(config)
    train, val = splits["train"], splits["val"]
    meta = build_views(
        fit_images(train, spec),
        train.labels,
        config.classes,
        tuple(args.teacher),
        args.out,
        n_views=args.views,
        preset=args.augment,
        seed=args.seed,
        val=(fit_images(val, spec), val.labels),
        resume=args.resume,
        force=args.force,
        command=default_command(),
        source={
            "data": config.data,
            "extra_data": list(config.extra_data),
            "task": config.task,
            "data_options": options,
            "val_fraction": config.val_fraction,
        },
    )
    views = meta["views"]
    acc = sum(v["teacher_accuracy"] for v in views.values()) / len(views)
    print(
        f"{len(views)} views of {meta['n_images']} crops in {args.out}; teachers on the views: "
        f"accuracy {acc:.4f} vs the labels; on unaltered val crops: "
        f"{meta.get('teacher_val', {}).get('accuracy_combined', float('nan')):.4f}"
    )
    return 0
