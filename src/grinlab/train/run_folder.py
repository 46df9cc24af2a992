"""The run folder of ``grinlab train``: its layout, the refusal to clobber one, and every file in it
but the checkpoints' contents (those are ``checkpoint``'s) and the reports (``grinlab.evaluate``'s).

Run folder layout::

    config.json          config, dataset summaries, model name/params, preprocessing, command line
    metrics.jsonl        one JSON line per finished epoch
    val_samples.npz      a few fitted uint8 val crops (the ONNX export checks parity on them)
    checkpoints/last.pt  state after the last finished epoch (epoch 0 = before training)
    checkpoints/best.pt  state of the best epoch by ``config.monitor``
    results.json         val (and test) metrics of best.pt
    report/              the evaluation report of the val set (report_test/ for test)

Text files are replaced atomically (written to a .tmp beside them, then renamed).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GrinlabError
from .config import TrainConfig
from .torch_data import FaceTorchDataset
from .zoo import count_params

RUN_OUTPUTS = (
    "config.json",
    "metrics.jsonl",
    "val_samples.npz",
    "results.json",
    "checkpoints",
    "report",
    "report_test",
)
N_PARITY_SAMPLES = 64


def last_checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "last.pt"


def best_checkpoint(run_dir: Path) -> Path:
    return run_dir / "checkpoints" / "best.pt"


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def default_command() -> str:
    """This process's command line, as config.json records it (``grinlab ...`` for the console script)."""
    argv = list(sys.argv)
    argv[0] = "grinlab" if argv and Path(argv[0]).name == "grinlab" else argv[0] if argv else "python"
    return shlex.join(argv)


def check_run_dir(run_dir: Path, resume: bool, force: bool) -> None:
    """Refuse (before anything is written) to clobber a run unless resume or force says so."""
    d = run_dir
    if d.exists() and not d.is_dir():
        raise GrinlabError(f"run folder {d} is a file; choose another --out")
    if resume and force:
        raise GrinlabError("--resume and --force contradict each other; pass one of them")
    if resume:
        last = last_checkpoint(d)
        if not last.is_file():
            raise GrinlabError(f"{last}: nothing to resume (no last checkpoint); drop --resume")
        return
    if d.is_dir() and any(d.iterdir()) and not force:
        raise GrinlabError(f"run folder {d} exists; pass --resume to continue it or --force to overwrite")


def clear_outputs(run_dir: Path) -> list[str]:
    """--force: delete what an earlier run wrote (RUN_OUTPUTS only); returns the names removed."""
    removed = []
    for name in RUN_OUTPUTS:
        p = run_dir / name
        if p.is_dir():
            shutil.rmtree(p)
            removed.append(name)
        elif p.exists():
            p.unlink()
            removed.append(name)
    return removed


def run_dir_of(checkpoint: Path) -> Path | None:
    """The run folder a checkpoint (RUN/checkpoints/x.pt) belongs to, or None for a loose file."""
    run_dir = Path(checkpoint).parent.parent
    return run_dir if (run_dir / "config.json").is_file() else None


def read_run_config(run_dir: Path) -> dict | None:
    """config.json of the run folder, or None when there is none."""
    path = run_dir / "config.json"
    return json.loads(path.read_text()) if path.is_file() else None


def start_run_folder(
    run_dir: Path,
    config: TrainConfig,
    model: nn.Module,
    device: torch.device,
    classes: tuple[str, ...],
    datasets: dict,
    teacher_info: dict | None,
    command: str,
    val_set: FaceTorchDataset,
) -> None:
    """A new run's files before its first checkpoint: checkpoints/, config.json (the config and what
    it met: data, model size, teachers, versions), an empty metrics.jsonl and val_samples.npz (the
    first N_PARITY_SAMPLES fitted crops of ``val_set``, for the ONNX export's parity check)."""
    import grinlab

    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    info = {
        "config": config.to_dict(),
        "model": config.model,
        "params": count_params(model),
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "classes": list(classes),
        "preprocessing": config.preprocessing.to_dict(),
        "datasets": {k: v.summary() for k, v in datasets.items() if v is not None},
        **({"teachers": teacher_info} if teacher_info else {}),
        **({"init_from": model.init_source_} if getattr(model, "init_source_", None) else {}),
        "command": command,
        "device": str(device),
        "versions": {"grinlab": grinlab.__version__, "torch": torch.__version__},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_text(run_dir / "config.json", json.dumps(info, indent=2) + "\n")
    (run_dir / "metrics.jsonl").write_text("")
    np.savez_compressed(
        run_dir / "val_samples.npz",
        images=val_set.images[:N_PARITY_SAMPLES],
        labels=val_set.labels[:N_PARITY_SAMPLES],
    )


def record_resume(run_dir: Path, command: str, after_epoch: int, config: dict) -> None:
    """config.json keeps the command that started the run; record a resume beside it."""
    info = read_run_config(run_dir)
    if info is not None:
        info.setdefault("resumed", []).append({"command": command, "after_epoch": after_epoch})
        info["config"] = config
        atomic_write_text(run_dir / "config.json", json.dumps(info, indent=2) + "\n")


def rewrite_metrics_log(run_dir: Path, history: list[dict]) -> None:
    """metrics.jsonl as the resumed checkpoint knows it (drops lines of epochs after it)."""
    atomic_write_text(run_dir / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))


def append_metrics(run_dir: Path, row: dict) -> None:
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


def copy_last_to_best(run_dir: Path) -> None:
    """best.pt := last.pt (a new best epoch), replaced atomically."""
    best = best_checkpoint(run_dir)
    shutil.copyfile(last_checkpoint(run_dir), best.with_name("best.pt.tmp"))
    os.replace(best.with_name("best.pt.tmp"), best)


def write_results(run_dir: Path, results: dict) -> None:
    atomic_write_text(run_dir / "results.json", json.dumps(results, indent=2) + "\n")
