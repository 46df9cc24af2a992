"""Knowledge distillation: exported ONNX teachers (one model or an ensemble) label every augmented
training batch, and the student learns their tempered distribution beside the dataset's labels.

The teachers run in ONNX Runtime on the very tensor the student sees, so they must take the same
input (size, channels, normalisation). Each teacher also sees the mirror image of each crop and the
views are combined as the mean of their log-probabilities (a geometric-mean ensemble): a steadier
target than one view of one model. Loss (Hinton et al. 2015):

    (1 - w) * cross_entropy(student, label) + w * T^2 * KL(softmax(t / T) || softmax(s / T))

with t the combined teacher log-probabilities (softmax(log p / T) equals the teacher's own
softmax(logits / T), so probability outputs lose nothing).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import GrinlabError
from ..preprocess import Preprocessing

LOG_FLOOR = 1e-7  # probabilities are clipped here before the log: a hard 0 would be -inf


@dataclass(frozen=True)
class TeacherInfo:
    """What config.json records of each teacher: enough to tell whether a file changed."""

    path: str
    name: str
    sha256: str


class Teacher:
    """One or more ONNX teachers whose labels are ``classes`` (in any order) and whose input is
    ``spec``. ``log_probs(x)`` gives their combined log-probabilities in ``classes`` order."""

    def __init__(self, models: tuple[str, ...], classes: tuple[str, ...], spec: Preprocessing):
        from ..classify.onnx_classifier import OnnxClassifier
        from ..modelcard import sha256_file
        from ..shipped import resolve_model

        if not models:
            raise GrinlabError("distillation needs at least one teacher model (--teacher MODEL)")
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.models, self.orders, self.info = [], [], []
        for text in models:
            path = resolve_model(text)
            if path.suffix == ".json":
                raise GrinlabError(
                    f"teacher {text!r} is a two-file cascade card; give one .onnx model "
                    "(export the cascade as one graph with grinlab export GATE --branch BRANCH)"
                )
            if path.suffix != ".onnx":
                raise GrinlabError(
                    f"teacher {text!r} is not an .onnx model; give a shipped name or an .onnx file"
                )
            clf = OnnxClassifier(path, threads=threads)
            missing = sorted(set(classes) - set(clf.labels))
            if missing or len(clf.labels) != len(classes):
                raise GrinlabError(
                    f"teacher {path.name} predicts {', '.join(clf.labels)}, but this run's task has "
                    f"{', '.join(classes)}; a teacher must have exactly the task's labels"
                )
            if clf.card.preprocessing != spec:
                raise GrinlabError(
                    f"teacher {path.name} takes {_describe(clf.card.preprocessing)} but the student takes "
                    f"{_describe(spec)}; train the student with the teacher's --input-size, --channels "
                    "and --normalization (the teacher sees the student's own batches)"
                )
            self.models.append(clf)
            self.orders.append(np.array([clf.labels.index(c) for c in classes]))
            self.info.append(TeacherInfo(str(path), clf.name, sha256_file(path)))

    @torch.no_grad()
    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised student inputs -> (N, K) combined teacher log-probabilities."""
        views = x.detach().cpu().float().numpy()
        views = np.concatenate([views, views[..., ::-1]])  # each crop and its mirror image
        n = len(x)
        total = np.zeros((n, len(self.orders[0])), np.float64)
        for clf, order in zip(self.models, self.orders, strict=True):
            logp = np.log(np.clip(clf.predict_input(views)[:, order], LOG_FLOOR, 1.0))
            total += logp[:n] + logp[n:]
        return torch.from_numpy((total / (2 * len(self.models))).astype(np.float32)).to(x.device)

    def targets(self, x: torch.Tensor, idx: torch.Tensor, epoch: int) -> torch.Tensor:
        """The trainer's one call for any teacher: here the teachers see the batch itself."""
        return self.log_probs(x)

    @torch.no_grad()
    def accuracy(self, loader) -> float:
        """Top-1 accuracy of the combined teacher on a (val) loader of the student's inputs."""
        right = seen = 0
        for x, y, _ in loader:
            hard = y.argmax(1) if y.ndim == 2 else y
            right += int((self.log_probs(x).argmax(1).cpu() == hard).sum())
            seen += len(x)
        return right / max(seen, 1)


def distillation_loss(
    student_logits: torch.Tensor, teacher_log_probs: torch.Tensor, temperature: float
) -> torch.Tensor:
    """T^2 * KL(teacher || student) at temperature T, averaged over the batch (T^2 keeps the
    gradient scale of the soft term independent of T)."""
    t = temperature
    target = F.softmax(teacher_log_probs / t, dim=1)
    return F.kl_div(F.log_softmax(student_logits / t, dim=1), target, reduction="batchmean") * t * t


def _describe(spec: Preprocessing) -> str:
    h, w = spec.size
    return f"{h}x{w} {'grey' if spec.channels == 1 else 'BGR'} {spec.normalization}"
