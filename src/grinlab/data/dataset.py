"""The in-memory dataset every loader returns, and seeded stratified splits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import GrinlabError


@dataclass
class FaceDataset:
    """Face crops with integer labels over ``classes``.

    images: uint8 arrays, (H, W) grey or (H, W, 3) BGR, any size (preprocessing resizes them).
    labels: int64 (N,), an index into ``classes``.
    sources: where each sample came from ("path" or "file.csv:row"), for errors and mistake reports.
    soft_labels: optional float32 (N, C) target distributions (e.g. FER+ votes).
    skipped: reason -> count of samples the loader dropped (blank images, missing files, ...).
    """

    name: str
    task: str
    classes: tuple[str, ...]
    images: list[np.ndarray]
    labels: np.ndarray
    sources: list[str]
    soft_labels: np.ndarray | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    split: str = "all"

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        n = len(self.images)
        if len(self.labels) != n or len(self.sources) != n:
            raise ValueError("images, labels and sources must have the same length")
        if self.soft_labels is not None and self.soft_labels.shape != (n, len(self.classes)):
            raise ValueError("soft_labels must be (N, number of classes)")

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> dict[str, int]:
        c = Counter(self.labels.tolist())
        return {name: int(c.get(i, 0)) for i, name in enumerate(self.classes)}

    def subset(self, indices, split: str | None = None) -> FaceDataset:
        idx = np.asarray(indices, dtype=np.int64)
        return replace(
            self,
            images=[self.images[i] for i in idx],
            labels=self.labels[idx],
            sources=[self.sources[i] for i in idx],
            soft_labels=None if self.soft_labels is None else self.soft_labels[idx],
            split=split or self.split,
        )

    def split_by(self, val_fraction: float = 0.15, seed: int = 0) -> tuple[FaceDataset, FaceDataset]:
        """Seeded stratified (train, val) split."""
        tr, va = stratified_split(self.labels, val_fraction, seed)
        return self.subset(tr, "train"), self.subset(va, "val")

    def summary(self) -> dict:
        return {
            "name": self.name,
            "task": self.task,
            "split": self.split,
            "size": len(self),
            "counts": self.counts(),
            "skipped": dict(self.skipped),
        }


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``round(val_fraction * n_c)`` of each class c go to val, chosen by a
    seeded permutation; both index arrays are sorted."""
    if not 0.0 < val_fraction < 1.0:
        raise GrinlabError(f"val fraction must be between 0 and 1, got {val_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(val_fraction * len(idx)))
        val.extend(rng.permutation(idx)[:k].tolist())
    val = np.sort(np.asarray(val, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def concat_datasets(parts: list[FaceDataset], name: str | None = None) -> FaceDataset:
    """One dataset from several with the same classes (sources keep their origin)."""
    if not parts:
        raise GrinlabError("nothing to concatenate")
    classes = parts[0].classes
    for p in parts[1:]:
        if p.classes != classes:
            raise GrinlabError(
                f"cannot combine {p.name} ({', '.join(p.classes)}) with {parts[0].name} ({', '.join(classes)}): "
                "the class lists differ; train them on the same task"
            )
    soft = None
    if all(p.soft_labels is not None for p in parts):
        soft = np.concatenate([p.soft_labels for p in parts])
    skipped: dict[str, int] = {}
    for p in parts:
        for k, v in p.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    return FaceDataset(
        name=name or "+".join(p.name for p in parts),
        task=parts[0].task,
        classes=classes,
        images=[im for p in parts for im in p.images],
        labels=np.concatenate([p.labels for p in parts]),
        sources=[s for p in parts for s in p.sources],
        soft_labels=soft,
        skipped=skipped,
        split=parts[0].split,
    )
