"""The trainer: the training loop of one run, from a fresh or resumed run folder to best.pt.

``Trainer.fit`` puts together what the other modules make -- the device (``devices``), the loaders
(``loaders``), the teacher (``teacher_setup``), the network (``network``), optimiser and schedule
(``optim``) -- then runs the epochs (``epoch``), checkpoints every one (``checkpoint``), writes the run folder's
files (``run_folder``, which documents its layout) and evaluates best.pt (``results``).
``train_run`` is the whole of ``grinlab train`` after option parsing.

Exact resume: augmentation is seeded by (seed, epoch, index), shuffling draws only from one
torch.Generator, and last.pt holds every RNG state, so "k epochs, stop, resume" gives the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch

from ..data.dataset import FaceDataset
from ..errors import GrinlabError
from ..evaluate.compare import monitor_mode
from ..evaluate.metrics import classification_metrics
from ..preprocess import normalize
from .checkpoint import load_checkpoint, restore_checkpoint, save_checkpoint
from .config import TrainConfig
from .devices import compiled_step, grad_scaler, memory_format, resolve_device, tune_for, use_amp
from .distill import Teacher
from .epoch import train_epoch, validate
from .loaders import load_training_splits, make_run_loaders
from .network import build_model, check_init_from
from .optim import class_weight_tensor, make_optimizer, make_scheduler, retarget_schedule
from .results import RunSummary, evaluate_best
from .run_folder import (
    append_metrics,
    best_checkpoint,
    check_run_dir,
    clear_outputs,
    copy_last_to_best,
    default_command,
    last_checkpoint,
    record_resume,
    rewrite_metrics_log,
    start_run_folder,
)
from .teacher_setup import load_run_teacher

log = logging.getLogger(__name__)
BN_SAMPLE_CROPS = 2048  # unaugmented training crops whose statistics an exported init's BatchNorm gets


class Trainer:
    """Train ``config`` into ``run_dir``. The constructor only stores its arguments; ``fit`` works."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | os.PathLike,
        force: bool = False,
        resume: bool = False,
        command: str | None = None,
    ):
        self.config = config
        self.run_dir = Path(run_dir)
        self.force = force
        self.resume = resume
        self.command = command if command is not None else default_command()

    @property
    def last_path(self) -> Path:
        return last_checkpoint(self.run_dir)

    @property
    def best_path(self) -> Path:
        return best_checkpoint(self.run_dir)

    def check_run_dir(self) -> None:
        """Refuse (before anything is written) to clobber a run unless resume or force says so."""
        check_run_dir(self.run_dir, self.resume, self.force)

    # -- training --------------------------------------------------------------------------------

    def fit(
        self, train_ds: FaceDataset, val_ds: FaceDataset, test_ds: FaceDataset | None = None
    ) -> list[dict]:
        """Train, checkpoint every epoch, then evaluate best.pt. Returns the per-epoch history."""
        cfg = self.config
        self.check_run_dir()
        if tuple(train_ds.classes) != tuple(val_ds.classes):
            raise GrinlabError(
                f"train and val datasets have different classes: {train_ds.classes} vs {val_ds.classes}"
            )
        if len(train_ds) == 0 or len(val_ds) == 0:
            raise GrinlabError(
                f"need training and validation images; got {len(train_ds)} train, {len(val_ds)} val"
            )
        self.classes_ = tuple(train_ds.classes)
        num_classes = len(self.classes_)
        device = self.device_ = resolve_device(cfg.device)
        tune_for(device)
        log.info(
            "preparing %d train / %d val crops at %s", len(train_ds), len(val_ds), cfg.preprocessing.size
        )
        data = make_run_loaders(cfg, train_ds, val_ds, device)
        train_t, train_loader, val_loader = data.train_set, data.train_loader, data.val_loader
        self.augment_on_ = data.augment_on
        teacher = None
        if cfg.teachers or cfg.teacher_views:
            teacher, teacher_info = load_run_teacher(
                cfg, self.classes_, device, self.run_dir, self.resume, val_loader, train_t
            )
            if teacher_info is not None:
                self.teacher_info_ = teacher_info
        steps = (
            len(train_loader) if not cfg.max_train_batches else min(len(train_loader), cfg.max_train_batches)
        )

        # an exported network to start from (--init-from x.onnx) unfolds its BatchNorm on these crops;
        # a resumed run takes every weight from last.pt, so it neither reads nor needs that file
        sample = lambda: torch.from_numpy(normalize(train_t.images[:BN_SAMPLE_CROPS], cfg.preprocessing))  # noqa: E731
        # a kept head has its source's structure; resumed, last.pt says which (see build_model)
        resumed = load_checkpoint(self.last_path) if self.resume else None
        last = resumed["model"] if resumed is not None and cfg.keep_head else None
        model = build_model(
            cfg,
            num_classes,
            load_init=not self.resume,
            bn_sample=sample,
            classes=self.classes_,
            source_state=last,
        ).to(device, memory_format=memory_format(device))
        step_model = compiled_step(model, cfg.compile, device)
        optimizer = make_optimizer(cfg, model.parameters())
        scheduler, per_step = make_scheduler(cfg, optimizer, steps)
        amp = use_amp(cfg.amp, device)
        scaler = grad_scaler(device, amp)
        weight = (
            class_weight_tensor(train_ds.labels, num_classes).to(device)
            if cfg.class_weights == "balanced"
            else None
        )
        self.model_ = model

        state = {
            "epoch": 0,
            "best_value": None,
            "best_epoch": 0,
            "bad_epochs": 0,
            "stopped": False,
            "history": [],
            "planned_epochs": cfg.epochs,  # fewer once a --time-budget run has timed its first epoch
        }
        objects = dict(
            model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, generator=data.generator
        )

        def save_last() -> None:
            save_checkpoint(
                self.last_path,
                **objects,
                device=device,
                augment_on=self.augment_on_,
                config=cfg,
                classes=self.classes_,
                state=state,
            )

        if self.resume:
            ckpt = restore_checkpoint(
                self.last_path,
                config=cfg,
                classes=self.classes_,
                augment_on=self.augment_on_,
                ckpt=resumed,
                **objects,
            )
            record_resume(self.run_dir, self.command, ckpt["epoch"], cfg.to_dict())
            state.update({k: ckpt[k] for k in state if k in ckpt})
            if not cfg.time_budget:  # a resume without the budget runs to --epochs
                state["planned_epochs"] = cfg.epochs
            rewrite_metrics_log(self.run_dir, state["history"])
            log.info("resuming %s after epoch %d", self.run_dir, state["epoch"])
        else:
            if self.force:
                removed = clear_outputs(self.run_dir)
                if removed:
                    log.warning("--force: overwrote %s in %s", ", ".join(removed), self.run_dir)
            start_run_folder(
                self.run_dir,
                cfg,
                model,
                device,
                self.classes_,
                {"train": train_ds, "val": val_ds, "test": test_ds},
                getattr(self, "teacher_info_", None),
                self.command,
                data.val_set,
            )
            # last.pt at epoch 0: an interruption during epoch 1 can still resume exactly.
            save_last()

        history = state["history"]
        try:
            for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
                if state["stopped"] or epoch > state["planned_epochs"]:
                    break
                t0 = time.perf_counter()
                train_t.set_epoch(epoch)
                train_loss, train_acc, n_seen = train_epoch(
                    cfg,
                    model,
                    step_model,
                    train_loader,
                    optimizer,
                    scheduler if per_step else None,
                    scaler,
                    weight,
                    device,
                    amp,
                    steps,
                    epoch,
                    self.classes_,
                    teacher=teacher,
                )
                train_seconds = time.perf_counter() - t0
                val_loss, y_true, y_pred = validate(model, val_loader, device)
                m = classification_metrics(y_true, y_pred, self.classes_)
                lr = optimizer.param_groups[0]["lr"]
                row = {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "val_loss": val_loss,
                    "val_acc": m["accuracy"],
                    "val_macro_f1": m["macro_f1"],
                    "lr": lr,
                    "seconds": round(time.perf_counter() - t0, 3),
                    "images_per_s": round(n_seen / max(train_seconds, 1e-9), 1),
                }
                history.append(row)
                value = row[cfg.monitor]
                if not per_step:
                    scheduler.step(value)
                # the first epoch's one-time costs would fix a plan far too short: plan again after
                # the second (while budget is left) and after each warmup epoch
                if cfg.time_budget and (
                    epoch <= max(1, cfg.warmup_epochs)
                    or (epoch == 2 and sum(row["seconds"] for row in history) < cfg.time_budget)
                ):
                    self._plan_epochs(state, history, scheduler if per_step else None, steps)
                improved = state["best_value"] is None or (
                    value < state["best_value"]
                    if monitor_mode(cfg.monitor) == "min"
                    else value > state["best_value"]
                )
                if improved:
                    state.update(best_value=float(value), best_epoch=epoch, bad_epochs=0)
                else:
                    state["bad_epochs"] += 1
                if cfg.patience and state["bad_epochs"] >= cfg.patience:
                    state["stopped"] = True
                state["epoch"] = epoch
                save_last()
                if improved:
                    copy_last_to_best(self.run_dir)
                append_metrics(self.run_dir, row)
                log.info(
                    "epoch %d/%d train loss %.4f acc %.4f | val loss %.4f acc %.4f macro-F1 %.4f | %.1f s",
                    epoch, state["planned_epochs"], train_loss, train_acc, val_loss, m["accuracy"], m["macro_f1"], row["seconds"],
                )  # fmt: skip
                if state["stopped"]:
                    log.info("early stopping: %s did not improve for %d epochs", cfg.monitor, cfg.patience)
        except KeyboardInterrupt:
            log.warning(
                "interrupted; %s holds epoch %d -- rerun with --resume to continue exactly",
                self.last_path,
                state["epoch"],
            )
            raise

        self.history_ = history
        self.state_ = state
        self.metrics_ = {}
        if cfg.evaluate:
            self.metrics_ = self.evaluate_best(
                {"val": val_ds, **({"test": test_ds} if test_ds is not None else {})}
            )
        return history

    def _plan_epochs(self, state: dict, history: list[dict], scheduler, steps: int) -> None:
        """--time-budget: as many epochs as fit in what is left of the budget at the last epoch's
        pace, and the lr schedule re-aimed at the last of them. Planned after the first epoch, and
        again after the second and each later warmup epoch: the first one's one-time costs (a GPU's
        kernel tuning, runs starting side by side) make its plan err short (a FER+ teacher on an H200
        planned 12 epochs of a 170 s budget from a 13.5 s first epoch, then ran them at 1.5 s), and a
        warmup epoch's lr hardly depends on the plan."""
        cfg = self.config
        done, pace = history[-1]["epoch"], max(history[-1]["seconds"], 1e-6)
        left = cfg.time_budget - sum(row["seconds"] for row in history)
        planned = max(min(cfg.epochs, done + int(max(left, 0.0) // pace)), cfg.warmup_epochs + 1, done + 1, 1)
        if planned == state["planned_epochs"]:
            return
        state["planned_epochs"] = planned
        retarget_schedule(scheduler, planned * steps)
        log.info(
            "time budget %.0f s: %d epoch(s) took %.1f s, the last %.1f s, so the run plans %d of at most %d epochs",
            cfg.time_budget, done, cfg.time_budget - left, pace, planned, cfg.epochs,
        )  # fmt: skip

    # -- evaluation ------------------------------------------------------------------------------

    def evaluate_best(self, splits: dict[str, FaceDataset]) -> dict:
        """Metrics of best.pt on each split (results.json); plus the evaluation module's report
        (report/ for val, report_<split>/ otherwise) when that module is installed."""
        return evaluate_best(
            self.run_dir, self.config.device, splits, history=getattr(self, "history_", None)
        )

    def summary(self) -> RunSummary:
        s = self.state_
        return RunSummary(
            run_dir=self.run_dir,
            epochs_run=s["epoch"],
            best_epoch=s["best_epoch"],
            best_value=s["best_value"],
            monitor=self.config.monitor,
            stopped_early=s["stopped"],
            metrics=self.metrics_,
        )


def train_run(
    config: TrainConfig,
    run_dir: str | os.PathLike,
    force: bool = False,
    resume: bool = False,
    command: str | None = None,
) -> RunSummary:
    """Load ``config.data`` (grinlab.data.load_splits), train into ``run_dir`` and evaluate best.pt
    on val (and on test, reported separately, when ``config.evaluate_test``)."""
    trainer = Trainer(config, run_dir, force=force, resume=resume, command=command)
    trainer.check_run_dir()  # before the (slow) data loading, and before anything is written
    if config.teachers:  # likewise: a teacher that cannot serve this task fails in seconds
        Teacher(config.teachers, config.classes, config.preprocessing)
    if config.init_from and not resume:  # and the network to start from
        check_init_from(config)
    if config.teacher_views and not (Path(config.teacher_views) / "meta.json").is_file():
        raise GrinlabError(
            f"{config.teacher_views}: no stored teacher views there; build them with grinlab teacher-views"
        )
    if not config.data or not Path(config.data).exists():
        raise GrinlabError(f"{config.data or '(no --data)'}: dataset path not found; pass --data PATH")
    splits = load_training_splits(config)
    test = None
    if config.evaluate_test:
        test = splits.get("test")
        if test is None:
            raise GrinlabError(f"{config.data}: this dataset has no test split; drop --evaluate-test")
    trainer.fit(splits["train"], splits["val"], test_ds=test)
    return trainer.summary()
