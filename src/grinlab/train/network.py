"""The network of a ``TrainConfig``: the zoo model, seeded from ``config.seed``, and for transfer
learning (``init_from``) the loaded backbone, the new head and the frozen part.

Training builds it here and so does loading a checkpoint back (``predict.load_run_model``), so both
get the same architecture for the same config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ..errors import GrinlabError
from ..preprocess import Preprocessing
from .config import TrainConfig
from .zoo import create_model

# the logger the trainer has always used, so `grinlab train` logs under one name as before the split
log = logging.getLogger("grinlab.train.trainer")


def build_model(
    config: TrainConfig,
    num_classes: int,
    load_init: bool = True,
    bn_sample: Callable[[], torch.Tensor] | None = None,
    classes: tuple[str, ...] | None = None,
    source_state: dict | None = None,
) -> nn.Module:
    """The network of ``config``, initialised from ``config.seed``. With ``init_from`` it is a
    transfer model (weights loaded when ``load_init``; a new head unless ``keep_head``, part frozen).

    ``init_from`` may be an exported float zoo network (``.onnx`` or a teacher-weights file): its
    input must be the run's, and its folded BatchNorm layers get the statistics of ``bn_sample()``
    (model inputs from the training set) so that training starts from the exported function.
    ``model.init_source_`` names the start (file, name, sha256 and how it was made) for config.json
    and the card, for a checkpoint as for an export.
    With ``keep_head`` the loaded network's own head stays (its labels must be ``classes``); without
    ``load_init`` its structure is that of ``source_state`` (the run's own checkpoint's weights)."""
    torch.manual_seed(config.seed)
    spec = config.preprocessing
    model = create_model(config.model, num_classes=num_classes, in_chans=spec.channels, input_size=spec.size)
    model.init_source_ = None
    if config.init_from:
        from .heads import fit_kept_head
        from .transfer import check_kept_head, load_backbone_weights, prepare_transfer

        if load_init:
            start = init_from_path(config.init_from)
            keep = num_classes if config.keep_head else None
            report = load_backbone_weights(model, start, keep_head_classes=keep)
            if config.keep_head:
                check_kept_head(model, report, classes, start)
            if report["source_card"] is not None:
                model.init_source_ = _start_from_export(
                    model, config, start, report["source_card"], bn_sample
                )
            else:
                model.init_source_ = _start_from_checkpoint(start)
        elif config.keep_head and source_state is not None:
            fit_kept_head(model, source_state, num_classes)
        freeze = None if config.freeze == "none" else config.freeze
        torch.manual_seed(config.seed + 1)  # the new head's init does not depend on load_init
        summary = prepare_transfer(model, num_classes, freeze=freeze, keep_head=config.keep_head)
        log.info(
            "transfer: %(trainable)d of %(total)d parameters trainable (freeze %(freeze)s, %(head)s)",
            {**summary, "head": "its own head kept" if config.keep_head else "a new head"},
        )
    model.zoo_name = config.model
    return model


def check_init_from(config: TrainConfig) -> None:
    """Fail in seconds, before the (slow) data loading: ``init_from`` exists, fits the run's
    network and, for an exported network, takes the run's input."""
    from ..labels import TASKS
    from .transfer import check_kept_head, load_backbone_weights

    start = init_from_path(config.init_from)
    spec = config.preprocessing
    # a new head is put on in training, so any class count checks the backbone; a kept head needs
    # the task's own count (a folder dataset's labels are only known once it is read)
    classes = TASKS.get(config.task)
    n = len(classes) if config.keep_head and classes else 2
    model = create_model(config.model, num_classes=n, in_chans=spec.channels, input_size=spec.size)
    report = load_backbone_weights(model, start, keep_head_classes=n if config.keep_head else None)
    if report["source_card"] is not None:
        _check_export_input(config, report["source_card"])
    if config.keep_head and classes:
        check_kept_head(model, report, classes, start)


def init_from_path(init_from: str) -> Path:
    """The file a run starts from: a path, or a shipped model's name (``--init-from emotion8``: its
    int8 file, whose weights ``teacher_weights.zoo_model_from_onnx`` takes back to float)."""
    path = Path(init_from).expanduser()
    if path.is_file():
        return path
    from ..shipped import shipped_models

    models = shipped_models()
    if init_from in models:
        return models[init_from]
    raise GrinlabError(
        f"{init_from}: checkpoint to initialise from not found; give a run's checkpoint, an exported "
        f".onnx or a shipped model's name ({', '.join(models) or 'none shipped in this install'})"
    )


def _check_export_input(config: TrainConfig, card: dict) -> None:
    theirs = Preprocessing.from_dict(card.get("preprocessing", {}))
    if theirs != config.preprocessing:  # the same test as a distillation teacher's
        raise GrinlabError(
            f"{config.init_from}: it takes {theirs.describe()} input, this run {config.preprocessing.describe()}; "
            "give the run the same --input-size, --channels and --normalization"
        )


def _start_from_export(model: nn.Module, config: TrainConfig, path: Path, card: dict, bn_sample) -> dict:
    """Check an exported network's input against the run's, unfold its BatchNorm layers; returns
    what config.json and the card say of it."""
    from ..modelcard import sha256_file
    from .teacher_weights import unfold_batchnorm

    _check_export_input(config, card)
    if bn_sample is None:
        raise GrinlabError(
            f"{config.init_from}: an exported network needs training images to unfold its BatchNorm"
        )
    n = unfold_batchnorm(model, bn_sample())
    log.info(
        "init from exported %s: %d BatchNorm layers given the training crops' statistics", card.get("name"), n
    )
    return {
        "file": path.name,
        "name": card.get("name"),
        # the exported ONNX file's own sha256 (for a teacher-weights file, that of the ONNX it holds)
        "sha256": sha256_file(path) if path.suffix.lower() == ".onnx" else card.get("sha256"),
        "command": card.get("command", ""),
    }


def _start_from_checkpoint(path: Path) -> dict:
    """A run checkpoint (RUN/checkpoints/best.pt) or a state dict: its sha256 and, when its run's
    config.json is beside it, the commands that made it (its own start and teachers first), so the
    card of a run started from it reproduces from scratch."""
    from ..modelcard import sha256_file
    from .provenance import made_by
    from .run_folder import read_run_config, run_dir_of

    run_dir = run_dir_of(path)
    try:
        info = read_run_config(run_dir) if run_dir else None
    except ValueError:  # a damaged config.json beside it: the start is still named by its sha256
        info = None
    return {
        "file": path.name,
        "name": run_dir.name if info else path.stem,
        "sha256": sha256_file(path),
        "command": "\n".join(made_by(info)) if info else "",
    }
