"""The network of a ``TrainConfig``: the zoo model, seeded from ``config.seed``, and for transfer
learning (``init_from``) the loaded backbone, the new head and the frozen part.

Training builds it here and so does loading a checkpoint back (``predict.load_run_model``), so both
get the same architecture for the same config.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from ..errors import GrinlabError
from .config import TrainConfig
from .zoo import create_model

# the logger the trainer has always used, so `grinlab train` logs under one name as before the split
log = logging.getLogger("grinlab.train.trainer")


def build_model(config: TrainConfig, num_classes: int, load_init: bool = True) -> nn.Module:
    """The network of ``config``, initialised from ``config.seed``. With ``init_from`` it is a
    transfer model (backbone weights loaded when ``load_init``; head replaced, part frozen)."""
    torch.manual_seed(config.seed)
    spec = config.preprocessing
    model = create_model(config.model, num_classes=num_classes, in_chans=spec.channels, input_size=spec.size)
    if config.init_from:
        from .transfer import load_backbone_weights, prepare_transfer

        if load_init:
            if not Path(config.init_from).is_file():
                raise GrinlabError(f"{config.init_from}: checkpoint to initialise from not found")
            load_backbone_weights(model, config.init_from)
        freeze = None if config.freeze == "none" else config.freeze
        torch.manual_seed(config.seed + 1)  # the new head's init does not depend on load_init
        summary = prepare_transfer(model, num_classes, freeze=freeze)
        log.info("transfer: %(trainable)d of %(total)d parameters trainable (freeze %(freeze)s)", summary)
    model.zoo_name = config.model
    return model
