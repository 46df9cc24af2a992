"""Transfer learning, the FaceHack recipe: start from a checkpoint (e.g. a net trained on FER2013),
freeze all but the last block, put a new two-layer head on top.

Works for every zoo model through the zoo contract (``blocks()``, ``head``, ``num_features``).
"""

from __future__ import annotations

import logging
import os

import torch
from torch import nn

from ..errors import GrinlabError

log = logging.getLogger(__name__)
FREEZE_CHOICES = ("none", "all_but_last", "backbone")


def load_backbone_weights(model: nn.Module, checkpoint: str | os.PathLike) -> dict:
    """Load every tensor of ``checkpoint`` whose name and shape match ``model`` (a raw state dict
    or a grinlab trainer checkpoint with key "model"); tensors that differ, typically the old
    head's classifier, are skipped. Returns {"loaded": [...], "skipped": [...]}."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise GrinlabError(f"{checkpoint}: cannot read this checkpoint ({exc})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise GrinlabError(f"{checkpoint}: not a state dict or a grinlab checkpoint")
    own = model.state_dict()
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in state if k not in loadable)
    if not any(not k.startswith("head.") for k in loadable):
        raise GrinlabError(
            f"{checkpoint}: none of its backbone weights fit this model; was it trained with the same --model?"
        )
    model.load_state_dict(loadable, strict=False)
    log.info(
        "loaded %d tensors from %s, skipped %d (%s)",
        len(loadable),
        checkpoint,
        len(skipped),
        ", ".join(skipped[:4]),
    )
    return {"loaded": sorted(loadable), "skipped": skipped}


def new_head(model: nn.Module, num_classes: int, hidden: int = 256, dropout: float = 0.5) -> nn.Module:
    layers: list[nn.Module] = []
    if getattr(model, "pool_before_new_head", False):
        layers.append(nn.AdaptiveAvgPool2d(1))
    layers += [nn.Flatten(), nn.Linear(model.num_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
               nn.Linear(hidden, num_classes)]  # fmt: skip
    return nn.Sequential(*layers)


def prepare_transfer(
    model: nn.Module,
    num_classes: int,
    freeze: str | None = "all_but_last",
    head_hidden: int = 256,
    dropout: float = 0.5,
) -> dict:
    """Replace ``model.head`` with a new 2-layer head for ``num_classes`` and freeze: ``none``
    (fine-tune everything), ``all_but_last`` (train the last block and the head), ``backbone``
    (train the head only). Returns {"trainable": n, "total": n, "freeze": ...}."""
    freeze = freeze or "none"
    if freeze not in FREEZE_CHOICES:
        raise GrinlabError(f"--freeze must be one of {', '.join(FREEZE_CHOICES)}, got {freeze!r}")
    if not hasattr(model, "blocks") or not hasattr(model, "head"):
        raise GrinlabError(f"{type(model).__name__} does not follow the zoo contract (blocks(), head)")
    model.head = new_head(model, num_classes, head_hidden, dropout)
    trainable_blocks = {"none": model.blocks(), "all_but_last": model.blocks()[-1:], "backbone": []}[freeze]
    for p in model.parameters():
        p.requires_grad = freeze == "none"
    for module in [*trainable_blocks, model.head]:
        for p in module.parameters():
            p.requires_grad = True
    model.frozen_modules_ = (
        [] if freeze == "none" else [b for b in model.blocks() if b not in trainable_blocks]
    )
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total, "freeze": freeze}


def frozen_bn_eval(model: nn.Module) -> None:
    """Call after ``model.train()``: frozen blocks keep their BatchNorm statistics (eval mode), so
    a frozen backbone really stays as it was."""
    for block in getattr(model, "frozen_modules_", []):
        block.eval()
