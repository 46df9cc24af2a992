"""Torch view of a FaceDataset: crops fitted once to the model input, seeded augmentation per item,
then ``grinlab.preprocess.normalize`` -- the very function inference uses, so training and the
exported model see identically prepared pixels."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ..data.dataset import FaceDataset
from ..errors import GrinlabError
from ..preprocess import Preprocessing, fit_crop, normalize
from .augment import Augmenter


def fit_images(dataset: FaceDataset, spec: Preprocessing) -> np.ndarray:
    """All crops of ``dataset`` resized/colour-converted to the model input: uint8 (N, H, W[, C])."""
    if len(dataset) == 0:
        return np.zeros((0, *spec.size) + ((3,) if spec.channels == 3 else ()), np.uint8)
    return np.stack([fit_crop(img, spec) for img in dataset.images])


class FaceTorchDataset(Dataset):
    """Items are (float32 (C, H, W) input, target, index). The target is the int64 label, or the
    float32 class distribution when ``soft_labels`` is on. Call ``set_epoch`` before each epoch:
    augmentation is seeded by (seed, epoch, index) so it is reproducible and resumable."""

    def __init__(
        self,
        dataset: FaceDataset,
        spec: Preprocessing,
        augment: str = "none",
        seed: int = 0,
        soft_labels: bool = False,
    ):
        if soft_labels and dataset.soft_labels is None:
            raise GrinlabError(
                f"dataset {dataset.name!r} ({dataset.split}) has no soft labels; drop --soft-labels or use FER+ votes"
            )
        self.spec = spec
        self.images = fit_images(dataset, spec)
        self.labels = dataset.labels
        self.soft = dataset.soft_labels.astype(np.float32) if soft_labels else None
        self.augmenter = Augmenter(augment, seed)
        self.epoch = 0
        # stored teacher views (grinlab.train.teacher_views.StoredTeacher): item i of an epoch is
        # the view it shows then, with the augmentation preset on top
        self.views = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        base = self.images[i] if self.views is None else self.views.image(i, self.epoch)
        img = self.augmenter(base, (self.epoch, i))
        x = torch.from_numpy(normalize(img[None], self.spec)[0])
        y = torch.from_numpy(self.soft[i]) if self.soft is not None else torch.tensor(self.labels[i])
        return x, y, i


def seed_worker(worker_id: int) -> None:
    """Seed numpy/random in each loader worker from torch's per-worker seed (itself drawn from the
    loader's seeded generator), so anything outside the Augmenter is reproducible too."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def balanced_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-sample weights 1 / count(class): every class is drawn equally often."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return 1.0 / np.maximum(counts[labels], 1.0)


def make_loader(
    ds: FaceTorchDataset,
    batch_size: int,
    generator: torch.Generator | None = None,
    train: bool = False,
    balanced: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader whose shuffling/sampling draws only from ``generator`` (saved in checkpoints)."""
    sampler = None
    if train and balanced:
        w = balanced_weights(ds.labels, int(ds.labels.max()) + 1 if len(ds) else 1)
        sampler = WeightedRandomSampler(
            torch.as_tensor(w), num_samples=len(ds), replacement=True, generator=generator
        )
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=num_workers,
        worker_init_fn=seed_worker if num_workers else None,
        pin_memory=pin_memory,
        drop_last=False,
    )
