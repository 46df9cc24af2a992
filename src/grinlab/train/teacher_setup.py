"""The distillation teacher of a training run (``--teacher`` / ``--teacher-views``): made, measured
on the val set for the log and config.json, and on ``--resume`` checked against the teachers the
run started with. The teachers themselves are ``distill.Teacher`` and ``teacher_views.StoredTeacher``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..errors import GrinlabError
from .config import TrainConfig
from .distill import Teacher
from .run_folder import read_run_config
from .teacher_views import StoredTeacher
from .torch_data import FaceTorchDataset

# the logger the trainer has always used, so `grinlab train` logs under one name as before the split
log = logging.getLogger("grinlab.train.trainer")


def load_run_teacher(
    config: TrainConfig,
    classes: tuple[str, ...],
    device: torch.device,
    run_dir: Path,
    resume: bool,
    val_loader,
    train_t: FaceTorchDataset,
) -> tuple[Teacher | StoredTeacher, dict | None]:
    """(teacher, info for config.json's "teachers"): ONNX models asked online, or stored teacher
    views, which ``train_t`` then draws its crops from. Their val accuracy goes to the log and the
    info. On --resume the teacher files (and views) must be the ones the run started with; the info
    is None then (config.json already has it)."""
    cfg = config
    views = None
    if cfg.teacher_views:
        teacher = StoredTeacher(cfg.teacher_views, classes, cfg.preprocessing, train_t.images, cfg.seed)
        train_t.views = teacher
        now = list(teacher.info)
        views = teacher.summary()
    else:
        teacher = Teacher(cfg.teachers, classes, cfg.preprocessing, device=device)
        now = [t.to_dict() for t in teacher.info]
    stored_info = read_run_config(run_dir) if resume else None
    if stored_info is not None:
        stored = stored_info.get("teachers", {})
        same_views = views is None or {
            k: stored.get("views", {}).get(k) for k in ("n_views", "images_sha256")
        } == {k: views[k] for k in ("n_views", "images_sha256")}
        if [t["sha256"] for t in stored.get("models", [])] != [t["sha256"] for t in now] or not same_views:
            raise GrinlabError(
                f"{run_dir}: the teacher files differ from those the run started with, or its views do "
                f"({', '.join(t['path'] for t in stored.get('models', []))}); restore them or start a new "
                "run with --force"
            )
        return teacher, None
    if views is not None:  # measured when the views were built (unaltered val crops)
        acc = views["teacher_val_acc"]
        log.info(
            "stored teacher views: %d views per crop from %s; teachers' val acc %.4f",
            views["n_views"],
            ", ".join(t["name"] for t in now),
            acc,
        )
    else:
        acc = teacher.accuracy(val_loader, device)
        log.info(
            "teacher (%s, each crop and its mirror): val acc %.4f", ", ".join(t["name"] for t in now), acc
        )
    info = {"models": now, "val_acc": round(acc, 6), **({"views": views} if views else {})}
    return teacher, info
