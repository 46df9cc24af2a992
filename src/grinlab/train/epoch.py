"""One epoch of a run: the optimisation steps over the training loader (``train_epoch``) and the
pass over the validation loader (``validate``). The trainer (``grinlab.train.trainer``) owns what
lasts across epochs: the run folder, checkpoints, the schedule's plan and the monitored metric."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..evaluate.metrics import classification_metrics
from ..progress import progress_enabled
from .config import TrainConfig
from .devices import amp_dtype, mark_step
from .distill import distillation_loss


def train_epoch(
    cfg: TrainConfig,
    model,
    step_model,
    loader,
    optimizer,
    scheduler,
    scaler,
    weight,
    device,
    amp: bool,
    steps: int,
    epoch: int,
    classes,
    teacher=None,
):
    """``steps`` optimisation steps: (mean train loss, train accuracy, images seen). ``step_model``
    is ``model`` or its compiled wrapper (``devices.compiled_step``); modes are set on ``model``."""
    model.train()
    if cfg.init_from and cfg.freeze != "none":
        from .transfer import frozen_bn_eval

        frozen_bn_eval(model)
    # the loss is summed on the device: reading it back every step would stall the GPU's queue
    total_loss, seen, y_true, y_pred = torch.zeros((), device=device), 0, [], []
    dtype = amp_dtype(device)
    bar = tqdm(total=steps, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, disable=not progress_enabled())
    for b, (x, y, idx) in enumerate(loader):
        if b >= steps:
            break
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        mark_step(step_model, model)
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            logits = step_model(x)
            loss = F.cross_entropy(logits.float(), y, weight=weight, label_smoothing=cfg.label_smoothing)
            if teacher is not None:
                soft = distillation_loss(
                    logits.float(), teacher.targets(x, idx, epoch), cfg.distill_temperature
                )
                loss = (1.0 - cfg.distill_weight) * loss + cfg.distill_weight * soft
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()
        hard = y.argmax(1) if y.ndim == 2 else y
        total_loss += loss.detach().float() * len(x)
        y_true.append(hard)  # kept on the device; one copy to the CPU after the epoch
        y_pred.append(logits.argmax(1))
        seen += len(x)
        bar.update(1)
        if not bar.disable and b % 20 == 0:  # a read-back, so only where someone watches
            bar.set_postfix(loss=f"{float(total_loss) / seen:.4f}")
    bar.close()
    if not seen:
        return 0.0, 0.0, 0
    y_true, y_pred = torch.cat(y_true).cpu().numpy(), torch.cat(y_pred).cpu().numpy()
    accuracy = classification_metrics(y_true, y_pred, classes)["accuracy"]
    return float(total_loss) / seen, accuracy, seen


@torch.no_grad()
def validate(model, loader, device):
    """(mean cross-entropy, true labels, predicted labels) of ``model`` over ``loader``. Like the
    training loop, it keeps the sums and labels on the device and reads them back once at the end."""
    model.eval()
    total_loss, y_true, y_pred = torch.zeros((), device=device), [], []
    for x, y, _ in loader:
        logits = model(x.to(device, non_blocking=True)).float()
        y = y.to(device, non_blocking=True)
        total_loss += F.cross_entropy(logits, y, reduction="sum")
        y_true.append(y)
        y_pred.append(logits.argmax(1))
    y_true, y_pred = torch.cat(y_true).cpu().numpy(), torch.cat(y_pred).cpu().numpy()
    return float(total_loss) / len(y_true), y_true, y_pred
