"""Transfer learning, the FaceHack recipe: start from a checkpoint (e.g. a net trained on FER2013),
freeze all but the last block, put a new two-layer head on top.

Works for every zoo model through the zoo contract (``blocks()``, ``head``, ``num_features``; see
``grinlab.train.zoo``). Typical use::

    model = create_model("vgg_small", num_classes=2)
    load_backbone_weights(model, "runs/fer2013/best.pt")     # the old 7-class head is skipped
    prepare_transfer(model, num_classes=2, freeze="all_but_last")
    optimizer = SGD([p for p in model.parameters() if p.requires_grad], ...)
    for epoch in ...:
        model.train()
        frozen_bn_eval(model)  # frozen blocks keep their BatchNorm statistics
"""

from __future__ import annotations

import functools
import logging
import os

import torch
from torch import nn

from ..errors import GrinlabError
from .heads import fit_kept_head, is_head, new_head

log = logging.getLogger(__name__)

# "backbone" is the older name of "all" (train the head only); both are accepted.
FREEZE_CHOICES = ("none", "all_but_last", "all")
_FREEZE_ALIASES = {"backbone": "all"}


def _read_state_dict(
    checkpoint: str | os.PathLike,
) -> tuple[dict[str, torch.Tensor], dict | None, tuple[str, ...] | None]:
    """(state dict, the card of the exported network it came from or None for a checkpoint, its
    labels when known). An exported float zoo network (``.onnx``, or a teacher-weights ``.pt`` made
    from one) has its BatchNorm layers folded (see ``teacher_weights.unfold_batchnorm``)."""
    if not os.path.isfile(checkpoint):
        raise GrinlabError(f"{checkpoint}: checkpoint not found")
    stat = os.stat(checkpoint)
    return _read_state_dict_once(str(checkpoint), stat.st_mtime_ns, stat.st_size)


# A run reads its start file twice: check_init_from before the (slow) data loading, then the
# network build after it; for an .onnx each read rebuilds the network and checks it against ONNX
# Runtime. The same unchanged file (path, mtime, size) is read once; callers only copy from the
# returned tensors (load_state_dict, fit_kept_head), never write into them.
@functools.lru_cache(maxsize=1)
def _read_state_dict_once(
    checkpoint: str, mtime_ns: int, size: int
) -> tuple[dict[str, torch.Tensor], dict | None, tuple[str, ...] | None]:
    from .teacher_weights import FORMAT, zoo_model_from_onnx

    if checkpoint.lower().endswith(".json"):  # torch.load would say "UnpicklingError"
        raise GrinlabError(
            f"{checkpoint}: a model card, not a network; start from a run's checkpoint "
            "(RUN/checkpoints/best.pt), a float .onnx export or a teacher-weights .pt (a cascade's card: "
            "from one of its stages' runs)"
        )
    if checkpoint.lower().endswith(".onnx"):
        model, card = zoo_model_from_onnx(checkpoint, int8=True)  # a shipped int8 file is a start too
        return model.state_dict(), card, tuple(card.get("labels") or ()) or None
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise GrinlabError(
            f"{checkpoint}: cannot read this checkpoint ({type(exc).__name__}: {exc}); "
            "expected a file written by torch.save (a state dict or a grinlab run's checkpoint)"
        ) from None
    if isinstance(state, dict) and state.get("format") == FORMAT:  # a teacher-weights file
        card = state["card"]
        return (
            {k: v.float() for k, v in state["state_dict"].items()},
            card,
            tuple(card.get("labels") or ()) or None,
        )
    labels = None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        labels = tuple(state.get("classes") or ()) or None
        state = state["model"]  # a grinlab trainer checkpoint
    elif isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # the common {"state_dict": ...} layout of other projects
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GrinlabError(
            f"{checkpoint}: not a state dict; expected torch.save(model.state_dict()) or a grinlab "
            'checkpoint with key "model"'
        )
    return state, None, labels


def load_backbone_weights(
    model: nn.Module,
    checkpoint_path: str | os.PathLike,
    strict_backbone: bool = True,
    keep_head_classes: int | None = None,
) -> dict:
    """Load the weights of ``checkpoint_path`` (a raw state dict, a grinlab trainer checkpoint
    with key "model", or an exported float zoo network: ``.onnx`` or a teacher-weights file) into
    ``model``; head tensors whose shapes differ (another number of
    classes) are skipped.

    With ``strict_backbone`` every backbone tensor (everything outside ``head``) of the model must
    be in the checkpoint with the same shape, so a checkpoint of another architecture or channel
    count fails loudly instead of half-loading; without it whatever fits is loaded and the rest is
    logged. Returns {"loaded": [...], "skipped": [...] (checkpoint keys not used),
    "missing": [...] (model backbone keys left at their initial values), "source_card": the
    exported network's card, or None for a checkpoint, "source_labels": its labels when the file
    says them}. An exported network's BatchNorm layers come folded:
    ``teacher_weights.unfold_batchnorm`` gives them statistics before training. With
    ``keep_head_classes`` (keep_head) the model first takes the head structure of the file's.
    """
    state, source, labels = _read_state_dict(checkpoint_path)
    if keep_head_classes is not None:
        fit_kept_head(model, state, keep_head_classes)
    own = model.state_dict()
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in state if k not in loadable)
    missing = sorted(k for k in own if not is_head(k) and k not in loadable)
    fits = any(not is_head(k) for k in loadable) and not (strict_backbone and missing)
    if source is not None and not fits:  # the card says what it is
        from .teacher_weights import INT8_SUFFIX

        arch = str(source.get("architecture"))
        raise GrinlabError(
            f"{checkpoint_path}: an exported {arch} network, which does not fit this "
            f"run's network; train with --model {arch.removesuffix(INT8_SUFFIX)} (and the network's input)"
        )
    if not any(not is_head(k) for k in loadable):
        raise GrinlabError(
            f"{checkpoint_path}: none of its backbone weights fit this {type(model).__name__}; "
            "was it trained with the same --model?"
        )
    if strict_backbone and missing:
        first = missing[0]
        why = (
            f"shape {tuple(state[first].shape)} in the checkpoint, {tuple(own[first].shape)} here"
            if first in state
            else "absent from the checkpoint"
        )
        raise GrinlabError(
            f"{checkpoint_path}: {len(missing)} backbone tensors do not fit this "
            f"{type(model).__name__} (first: {first}, {why}); train/load with the same --model, channels "
            "and width, or pass strict_backbone=False to load only what fits"
        )
    model.load_state_dict(loadable, strict=False)
    log.info(
        "loaded %d tensors from %s; skipped %d (%s); %d backbone tensors left as initialised",
        len(loadable),
        checkpoint_path,
        len(skipped),
        ", ".join(skipped[:4]) + (" ..." if len(skipped) > 4 else ""),
        len(missing),
    )
    return {
        "loaded": sorted(loadable),
        "skipped": skipped,
        "missing": missing,
        "source_card": source,
        "source_labels": labels,
    }


def check_kept_head(model: nn.Module, report: dict, classes: tuple[str, ...] | None, source) -> None:
    """For ``keep_head``: the network loaded by ``load_backbone_weights`` (``report``) must bring all
    of the model's head and the same labels in the same order, else its outputs would mean other things."""
    theirs = report["source_labels"]
    if classes is not None and theirs is not None and tuple(theirs) != tuple(classes):
        raise GrinlabError(
            f"{source}: --keep-head needs the same labels in the same order; it predicts "
            f"{', '.join(theirs)}, this run {', '.join(classes)}. Drop --keep-head for a new head"
        )
    head = [k for k in model.state_dict() if is_head(k)]
    if not head or not set(head) <= set(report["loaded"]):
        raise GrinlabError(
            f"{source}: its head does not fit this network (another number of labels, or another "
            "architecture); drop --keep-head for a new head"
        )


def prepare_transfer(
    model: nn.Module,
    num_classes: int,
    freeze: str | None = "all_but_last",
    head_hidden: int = 256,
    dropout: float = 0.5,
    keep_head: bool = False,
) -> dict:
    """Replace ``model.head`` with a new 2-layer head for ``num_classes`` and set requires_grad:
    ``none`` fine-tunes everything, ``all_but_last`` trains the last block and the head (the
    FaceHack recipe), ``all`` trains the head only (``backbone`` is accepted as an alias).
    ``keep_head`` keeps the model's own (loaded) head instead, to continue a network of the same labels.

    Frozen blocks are remembered in ``model.frozen_modules_``; the training loop must call
    ``frozen_bn_eval(model)`` after every ``model.train()`` so their BatchNorm running statistics
    stay as loaded. Build the optimiser from the parameters with requires_grad only.
    Returns {"trainable": n, "total": n, "freeze": name}.
    """
    freeze = _FREEZE_ALIASES.get(freeze or "none", freeze or "none")
    if freeze not in FREEZE_CHOICES:
        raise GrinlabError(f"freeze must be one of {', '.join(FREEZE_CHOICES)}, got {freeze!r}")
    if not hasattr(model, "blocks") or not hasattr(model, "head") or not hasattr(model, "num_features"):
        raise GrinlabError(
            f"{type(model).__name__} does not follow the zoo contract (blocks(), head, num_features); "
            "build it with grinlab.train.zoo.create_model"
        )
    if not keep_head:
        model.head = new_head(model, num_classes, head_hidden, dropout)
    blocks = model.blocks()
    trainable_blocks = {"none": blocks, "all_but_last": blocks[-1:], "all": []}[freeze]
    for p in model.parameters():
        p.requires_grad = freeze == "none"
    for module in [*trainable_blocks, model.head]:
        for p in module.parameters():
            p.requires_grad = True
    model.frozen_modules_ = [b for b in blocks if not any(b is t for t in trainable_blocks)]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total, "freeze": freeze}


def frozen_bn_eval(model: nn.Module) -> None:
    """Call after ``model.train()``: frozen blocks go back to eval mode, so their BatchNorm layers
    use and keep the loaded running statistics (and their dropout, if any, stays off)."""
    for block in getattr(model, "frozen_modules_", []):
        block.eval()
