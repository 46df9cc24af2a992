"""GPU-resident training batches: the fitted uint8 train set lives on the device as one tensor and is
augmented there in whole batches (``tensor_augment``), so a fast GPU no longer waits on CPU workers
running albumentations image by image.

``DeviceLoader`` stands in for the train DataLoader of ``torch_data.make_loader``: it yields
(x, y, index) batches, draws the order (shuffle or balanced sampling) only from the trainer's
checkpointed ``torch.Generator`` and seeds augmentation by (seed, epoch, index), so "k epochs, stop,
resume" stays exact.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .tensor_augment import TensorAugmenter
from .torch_data import FaceTorchDataset, balanced_weights

CHUNK_BYTES = 64 << 20  # float32 pixels augmented at once (7,281 crops of 48x48 grey)


def resolve_augment_on(name: str, device: torch.device) -> str:
    """Where a run augments (``name`` is one of config.AUGMENT_ON): "device" (this module) or "cpu" (albumentations in the DataLoader).
    ``auto`` keeps the CPU path for CPU training: there it is as fast, and it is what earlier runs did."""
    if name == "auto":
        return "device" if device.type == "cuda" else "cpu"
    return name


class DeviceLoader:
    """Train batches of ``ds`` (its fitted crops, labels or soft labels, preset, seed and epoch) made
    on ``device``. Call ``ds.set_epoch`` before each epoch, as with the DataLoader."""

    def __init__(
        self,
        ds: FaceTorchDataset,
        batch_size: int,
        generator: torch.Generator,
        device: torch.device,
        balanced: bool = False,
    ):
        self.ds = ds
        self.batch_size = int(batch_size)
        self.generator = generator
        self.device = torch.device(device)
        self.images = torch.from_numpy(np.ascontiguousarray(ds.images)).to(self.device)
        targets = ds.soft if ds.soft is not None else ds.labels.astype(np.int64)
        self.targets = torch.from_numpy(np.ascontiguousarray(targets)).to(self.device)
        self.augmenter = TensorAugmenter(ds.augmenter.preset, ds.augmenter.seed, ds.spec)
        self.weights = None
        if balanced:  # the very weights and draw of WeightedRandomSampler in make_loader
            w = balanced_weights(ds.labels, int(ds.labels.max()) + 1 if len(ds) else 1)
            self.weights = torch.as_tensor(w, dtype=torch.double)

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self):
        n = len(self.images)
        if self.weights is not None:
            order = torch.multinomial(self.weights, n, replacement=True, generator=self.generator)
        else:
            order = torch.randperm(n, generator=self.generator)
        order = order.to(self.device)
        epoch = self.ds.epoch
        # Augment many batches at once: a batch's augmentation is some hundred small kernels whose
        # launching, not their work, is what a GPU waits for (5.6 ms a batch of 128 on an H200, as
        # long as a vgg_paper step). A sample's pixels depend only on (seed, epoch, index).
        per_image = 4 * math.prod(self.images.shape[1:])
        chunk = self.batch_size * max(1, CHUNK_BYTES // (per_image * self.batch_size))
        for first in range(0, n, chunk):
            idx = order[first : first + chunk]
            x, y = self.augmenter(self.images[idx], idx, epoch), self.targets[idx]
            for start in range(0, len(idx), self.batch_size):
                end = start + self.batch_size
                yield x[start:end], y[start:end], idx[start:end]
