"""Training checkpoints (``checkpoints/last.pt`` and ``best.pt`` of a run folder): their format,
the atomic save, loading (``weights_only``), and restoring a run from one for ``--resume``.

A checkpoint holds the model, optimiser, scheduler, AMP scaler, the shuffling ``torch.Generator``
and every global RNG state, plus the config, classes, where the run augments and the loop's state
(epoch, best value, history, ...). With augmentation seeded by (seed, epoch, index), that makes
"k epochs, stop, resume" give the same weights as an uninterrupted run.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GrinlabError
from .config import TrainConfig

FORMAT = "grinlab-checkpoint-1"
# Options that may differ when resuming a run (everything else must match the stored config).
# augment_on is checked by where it resolves to (the checkpoint's "augment_on"), not by its text.
RESUMABLE_CHANGES = {
    "epochs",
    "device",
    "num_workers",
    "evaluate",
    "evaluate_test",
    "patience",
    "augment_on",
    "compile",
}


def checkpoint_path(run_dir_or_checkpoint: str | os.PathLike, which: str = "best") -> Path:
    """A run folder's checkpoints/<which>.pt, or the given .pt file itself."""
    p = Path(run_dir_or_checkpoint)
    if p.is_dir():
        p = p / "checkpoints" / f"{which}.pt"
    if not p.is_file():
        raise GrinlabError(
            f"{p}: checkpoint not found; give a run folder made by 'grinlab train' or a .pt checkpoint"
        )
    return p


def load_checkpoint(path: str | os.PathLike) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated or not a torch file
        raise GrinlabError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise GrinlabError(f"{path}: not a grinlab training checkpoint")
    return ckpt


def _atomic_torch_save(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        # numpy's state as tensors/ints so checkpoints load with torch.load(weights_only=True)
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: Path,
    *,
    model: nn.Module,
    optimizer,
    scheduler,
    scaler,
    generator: torch.Generator,
    device: torch.device,
    augment_on: str,
    config: TrainConfig,
    classes: tuple[str, ...],
    state: dict,
) -> None:
    """Write the run's whole training state to ``path`` (through a .tmp file, so a crash mid-write
    leaves the previous checkpoint whole). ``state`` is the loop's own (epoch, best value, ...)."""
    ckpt = {
        "format": FORMAT,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "generator": generator.get_state(),
        "rng": _rng_state(device),
        "augment_on": augment_on,
        "config": config.to_dict(),
        "classes": list(classes),
        **state,
    }
    _atomic_torch_save(ckpt, path)


def restore_checkpoint(
    path: Path,
    *,
    config: TrainConfig,
    classes: tuple[str, ...],
    augment_on: str,
    model: nn.Module,
    optimizer,
    scheduler,
    scaler,
    generator: torch.Generator,
    ckpt: dict | None = None,
) -> dict:
    """--resume: check that ``path`` belongs to this run (same options but RESUMABLE_CHANGES, same
    classes, same augmentation path), load every state into the given objects and the global RNGs,
    and return the checkpoint (its loop state: epoch, best value, history, ...). ``ckpt``: the file
    as ``load_checkpoint`` already read it."""
    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    stored = ckpt["config"]
    now = config.to_dict()
    diff = sorted(k for k in now if k not in RESUMABLE_CHANGES and stored.get(k) != now[k])
    if diff:
        raise GrinlabError(
            f"{path}: cannot resume with a different {', '.join(diff)}; "
            "use the stored options or start a new run folder"
        )
    if tuple(ckpt["classes"]) != classes:
        raise GrinlabError(f"{path}: checkpoint classes {ckpt['classes']} differ from the data's")
    if ckpt.get("augment_on", "cpu") != augment_on:  # older checkpoints: the CPU path
        raise GrinlabError(
            f"{path}: the run augmented on {ckpt.get('augment_on', 'cpu')}, this resume would "
            f"augment on {augment_on}; pass --augment-on {ckpt.get('augment_on', 'cpu')} to continue it"
        )
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["scaler"]:  # empty from a run without loss scaling (bfloat16 or no AMP): a fresh scaler
        scaler.load_state_dict(ckpt["scaler"])
    generator.set_state(ckpt["generator"])
    _set_rng_state(ckpt["rng"])
    if ckpt["epoch"] < config.epochs:
        ckpt["stopped"] = ckpt["stopped"] and config.patience == stored.get("patience")
    return ckpt
