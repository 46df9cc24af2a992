"""The data of a training run: the config's dataset splits read from disk (``load_training_splits``)
and the torch train/val loaders made from them (``make_run_loaders``).

Shuffling and sampling draw only from the run's one ``torch.Generator`` (returned with the loaders so
checkpoints can hold its state), and augmentation is seeded by (seed, epoch, index), on the CPU in
the DataLoader (``torch_data``) or in whole batches on the GPU (``device_data``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..data.dataset import FaceDataset
from ..errors import GrinlabError
from .config import TrainConfig
from .device_data import DeviceLoader, resolve_augment_on
from .torch_data import FaceTorchDataset, make_loader


def load_training_splits(config: TrainConfig) -> dict[str, FaceDataset]:
    """The config's dataset splits; with ``extra_data``, each split concatenated across datasets.
    Loader options go only to the loaders whose signature takes them."""
    import inspect

    from ..data import DATASET_FORMATS, concat_datasets, load_splits
    from ..data.registry import detect_format

    sources = []  # (path, format as given, format, options its loader takes)
    for i, path in enumerate((config.data, *config.extra_data)):
        if not Path(path).exists():
            raise GrinlabError(f"{path}: dataset path not found")
        fmt = config.data_format if i == 0 else "auto"
        name = detect_format(path) if fmt == "auto" else fmt
        taken = set(inspect.signature(DATASET_FORMATS[name]).parameters) - {"path", "root", "task"}
        sources.append((path, fmt, name, taken))
    # a misspelt option (label_mod=blend) would otherwise be dropped and the run trained without it
    unknown = sorted(set(config.data_options) - set().union(*(taken for *_, taken in sources)))
    if unknown:
        takes = "; ".join(f"{name} takes {', '.join(sorted(taken))}" for _, _, name, taken in sources)
        raise GrinlabError(f"no dataset of this run takes --data-option {', '.join(unknown)} ({takes})")
    parts = []
    for path, fmt, _, taken in sources:
        opts = {k: v for k, v in config.data_options.items() if k in taken}
        parts.append(
            load_splits(
                path, fmt=fmt, task=config.task, val_fraction=config.val_fraction, seed=config.seed, **opts
            )
        )
    if len(parts) == 1:
        return parts[0]
    return {
        split: concat_datasets([p[split] for p in parts if split in p])
        for split in ("train", "val", "test")
        if any(split in p for p in parts)
    }


@dataclass
class RunLoaders:
    """What ``make_run_loaders`` builds for one run."""

    train_set: FaceTorchDataset  # fitted train crops; augments by (seed, epoch, index)
    val_set: FaceTorchDataset  # fitted val crops, never augmented
    train_loader: DeviceLoader | DataLoader
    val_loader: DataLoader
    generator: torch.Generator  # the only source of shuffling/sampling; checkpointed
    augment_on: str  # "cpu" or "device": where the train batches are augmented


def make_run_loaders(
    config: TrainConfig, train_ds: FaceDataset, val_ds: FaceDataset, device: torch.device
) -> RunLoaders:
    """The train and val loaders of ``config`` on ``device``. Runs with stored teacher views stay on
    the CPU loader: FaceTorchDataset draws those views."""
    cfg = config
    spec = cfg.preprocessing
    train_t = FaceTorchDataset(train_ds, spec, cfg.augment, cfg.seed, soft_labels=cfg.soft_labels)
    val_t = FaceTorchDataset(val_ds, spec, "none", cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    pin = device.type == "cuda"
    augment_on = "cpu" if cfg.teacher_views else resolve_augment_on(cfg.augment_on, device)
    if augment_on == "device":
        train_loader = DeviceLoader(train_t, cfg.batch_size, generator, device, cfg.balanced_sampling)
    else:
        train_loader = make_loader(
            train_t, cfg.batch_size, generator, True, cfg.balanced_sampling, cfg.num_workers, pin
        )
    val_loader = make_loader(
        val_t, max(cfg.batch_size, 256), None, False, num_workers=cfg.num_workers, pin_memory=pin
    )
    return RunLoaders(train_t, val_t, train_loader, val_loader, generator, augment_on)
