"""Torch-side prediction: trained checkpoints as ``predict(uint8 batch) -> probabilities``
(``load_run_model`` + ``TorchPredictor``; the checkpoint files themselves are ``checkpoint``'s)."""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from ..preprocess import Preprocessing, fit_crop, normalize
from .checkpoint import checkpoint_path, load_checkpoint
from .config import TrainConfig
from .network import build_model


class TorchPredictor:
    """Callable on uint8 crops (N, H, W) or (N, H, W, C) -> float32 softmax probabilities (N, K).
    Crops not at the model input size are fitted with ``grinlab.preprocess.fit_crop`` first."""

    def __init__(
        self, model: nn.Module, spec: Preprocessing, device: str | torch.device = "cpu", batch_size: int = 256
    ):
        self.model = model.to(device).eval()
        self.spec = spec
        self.device = torch.device(device)
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, batch: np.ndarray | list) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, self._num_classes()), np.float32)
        expected = tuple(self.spec.size) + ((3,) if self.spec.channels == 3 else ())
        if not isinstance(batch, np.ndarray) or batch.shape[1:] != expected or batch.dtype != np.uint8:
            batch = np.stack([fit_crop(np.asarray(img, np.uint8), self.spec) for img in batch])
        self.model.eval()
        out = []
        for i in range(0, len(batch), self.batch_size):
            x = torch.from_numpy(normalize(batch[i : i + self.batch_size], self.spec)).to(self.device)
            out.append(torch.softmax(self.model(x).float(), dim=1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def _num_classes(self) -> int:
        x = torch.zeros((1, self.spec.channels, *self.spec.size), device=self.device)
        with torch.no_grad():
            return int(self.model.eval()(x).shape[1])


def load_run_model(
    run_dir: str | os.PathLike, which: str = "best", device: str | torch.device = "cpu"
) -> tuple[nn.Module, TrainConfig, Preprocessing, tuple[str, ...]]:
    """(model in eval mode, config, preprocessing, classes) of a run folder's best/last checkpoint
    (or of a checkpoint file)."""
    path = checkpoint_path(run_dir, which)
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"], source=str(path))
    classes = tuple(ckpt["classes"])
    model = build_model(config, len(classes), load_init=False, source_state=ckpt["model"])
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), config, config.preprocessing, classes
