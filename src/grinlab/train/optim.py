"""What the optimisation step is made of: the optimiser (``--optimizer``), the lr schedule
(``--scheduler``, ``--warmup-epochs``, re-aimed by ``--time-budget``) and the loss's class weights
(``--class-weights balanced``)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import GrinlabError
from ..evaluate.compare import monitor_mode
from .config import TrainConfig


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    lr, wd = config.lr, config.weight_decay
    # On a GPU, SGD and Adam(W) update every parameter in one fused kernel instead of a few per
    # tensor group: the step of the zoo's small nets is bound by kernel launches there. The CPU
    # keeps the default implementation, and with it the numbers of the recipes made on it.
    fused = {"fused": True} if params and params[0].is_cuda else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, weight_decay=wd, nesterov=config.momentum > 0, **fused
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, **fused)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, **fused)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)


class LrFactor:
    """lr factor per optimisation step: linear warmup, then the configured decay. A picklable
    callable (not a lambda) so LambdaLR's state_dict round-trips."""

    def __init__(
        self,
        kind: str,
        warmup_steps: int,
        total_steps: int,
        steps_per_epoch: int,
        step_epochs: int,
        gamma: float,
    ):
        self.kind, self.warmup, self.total = kind, warmup_steps, total_steps
        self.spe, self.step_epochs, self.gamma = steps_per_epoch, step_epochs, gamma

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.kind == "cosine":
            t = (step - self.warmup) / max(1, self.total - self.warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))
        if self.kind == "step":
            return self.gamma ** ((step // self.spe) // self.step_epochs)
        return 1.0


def make_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    """(scheduler, steps_per_batch). Plateau steps once per epoch on the monitored value."""
    total = config.epochs * steps_per_epoch
    if config.scheduler == "plateau":
        if config.warmup_epochs:
            raise GrinlabError(
                "the plateau scheduler has no warmup; set warmup epochs to 0 or pick another scheduler"
            )
        mode = monitor_mode(config.monitor)
        patience = max(1, config.patience // 2) if config.patience else 3
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=0.1, patience=patience
        ), False
    if config.scheduler == "onecycle":
        pct = config.warmup_epochs / config.epochs if config.warmup_epochs else 0.3
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=total, pct_start=pct
        ), True
    fn = LrFactor(
        config.scheduler,
        config.warmup_epochs * steps_per_epoch,
        total,
        steps_per_epoch,
        config.step_epochs,
        config.step_gamma,
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn), True


def retarget_schedule(scheduler, total_steps: int) -> None:
    """End a ``make_scheduler`` LambdaLR (warmup, cosine, step, none) at ``total_steps`` instead of
    at --epochs: the --time-budget plan. Other schedulers (or None) are left as they are."""
    if isinstance(scheduler, torch.optim.lr_scheduler.LambdaLR):
        for fn in scheduler.lr_lambdas:
            if isinstance(fn, LrFactor):
                fn.total = total_steps


def class_weight_tensor(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """ "balanced" weights n / (C * n_c), as scikit-learn computes them."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    w = len(labels) / (num_classes * np.maximum(counts, 1.0))
    return torch.as_tensor(w, dtype=torch.float32)
