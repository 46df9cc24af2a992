"""Knowledge distillation: exported ONNX teachers (one model or an ensemble) label every augmented
training batch, and the student learns their tempered distribution beside the dataset's labels.

The teachers run on the very tensor the student sees, so they must take the same input (size,
channels, normalisation): in ONNX Runtime on the CPU, or, when training on CUDA, as zoo networks in
torch on the GPU beside the student (grinlab.train.teacher_weights; an ONNX Runtime teacher would
make every step wait for the CPU). Each teacher also sees the mirror image of each crop and the
views are combined as the mean of their log-probabilities (a geometric-mean ensemble): a steadier
target than one view of one model. Loss (Hinton et al. 2015):

    (1 - w) * cross_entropy(student, label) + w * T^2 * KL(softmax(t / T) || softmax(s / T))

with t the combined teacher log-probabilities (softmax(log p / T) equals the teacher's own
softmax(logits / T), so probability outputs lose nothing).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import GrinlabError
from ..preprocess import Preprocessing

log = logging.getLogger(__name__)
LOG_FLOOR = 1e-7  # probabilities are clipped here before the log: a hard 0 would be -inf


@dataclass(frozen=True)
class TeacherInfo:
    """What config.json records of each teacher: enough to tell whether a file changed. ``sha256``
    is the ONNX file's (what a card names); a teacher given as a teacher-weights file
    (grinlab.train.teacher_weights) also records that file's own sha256."""

    path: str
    name: str
    sha256: str
    weights_sha256: str = ""

    def to_dict(self) -> dict:
        d = {"path": self.path, "name": self.name, "sha256": self.sha256}
        return {**d, "weights_sha256": self.weights_sha256} if self.weights_sha256 else d


class _OnnxMember:
    """A teacher in ONNX Runtime on the CPU."""

    def __init__(self, path, threads: int):
        from ..classify.onnx_classifier import OnnxClassifier

        self.clf = OnnxClassifier(path, threads=threads)
        self.labels, self.preprocessing, self.name = (
            self.clf.labels,
            self.clf.card.preprocessing,
            self.clf.name,
        )
        self.where = "ONNX Runtime"

    def probs(self, views: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.clf.predict_input(views.detach().cpu().float().numpy()))


class _TorchMember:
    """A zoo teacher in torch on the training device (grinlab.train.teacher_weights)."""

    def __init__(self, model, card: dict, device: torch.device):
        self.model = model.to(device).eval()
        self.device = device
        self.labels, self.name = tuple(card["labels"]), card["name"]
        self.preprocessing = Preprocessing.from_dict(card["preprocessing"])
        self.where = f"torch on {device}"

    @torch.no_grad()
    def probs(self, views: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.model(views.to(self.device).float()).float(), dim=1)


def _member(path, device: torch.device, threads: int):
    """A teacher-weights file runs in torch; an ONNX zoo export runs in torch on a CUDA device (the
    GPU beside the student, instead of the CPU), else and for any other ONNX model ONNX Runtime."""
    from .teacher_weights import load_teacher_weights, zoo_model_from_onnx

    if path.suffix == ".pt":
        model, card = load_teacher_weights(path)
        return _TorchMember(model, card, device), card["sha256"]
    if device.type == "cuda":
        try:
            model, card = zoo_model_from_onnx(path)
            return _TorchMember(model, card, device), None
        except GrinlabError as e:
            log.info("teacher %s stays in ONNX Runtime: %s", path.name, e)
    return _OnnxMember(path, threads), None


class Teacher:
    """One or more teachers whose labels are ``classes`` (in any order) and whose input is ``spec``:
    ONNX models (shipped names or paths) or teacher-weights files (.pt). ``log_probs(x)`` gives
    their combined log-probabilities in ``classes`` order on ``x``'s device."""

    def __init__(self, models: tuple[str, ...], classes: tuple[str, ...], spec: Preprocessing, device=None):
        from ..modelcard import sha256_file
        from ..shipped import resolve_model

        if not models:
            raise GrinlabError("distillation needs at least one teacher model (--teacher MODEL)")
        device = torch.device(device or "cpu")
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        self.members, self.orders, self.info = [], [], []
        for text in models:
            path = resolve_model(text)
            if path.suffix == ".json":
                raise GrinlabError(
                    f"teacher {text!r} is a two-file cascade card; give one .onnx model "
                    "(export the cascade as one graph with grinlab export GATE --branch BRANCH)"
                )
            if path.suffix not in (".onnx", ".pt"):
                raise GrinlabError(
                    f"teacher {text!r} is not an .onnx model; give a shipped name, an .onnx file or "
                    "a teacher-weights .pt file"
                )
            member, source_sha = _member(path, device, threads)
            missing = sorted(set(classes) - set(member.labels))
            if missing or len(member.labels) != len(classes):
                raise GrinlabError(
                    f"teacher {path.name} predicts {', '.join(member.labels)}, but this run's task has "
                    f"{', '.join(classes)}; a teacher must have exactly the task's labels"
                )
            if member.preprocessing != spec:
                raise GrinlabError(
                    f"teacher {path.name} takes {member.preprocessing.describe()} but the student takes "
                    f"{spec.describe()}; train the student with the teacher's --input-size, --channels "
                    "and --normalization (the teacher sees the student's own batches)"
                )
            self.members.append(member)
            self.orders.append(torch.tensor([member.labels.index(c) for c in classes]))
            file_sha = sha256_file(path)
            info = TeacherInfo(str(path), member.name, source_sha or file_sha, file_sha if source_sha else "")
            self.info.append(info)
        log.info("teachers: %s", ", ".join(f"{m.name} ({m.where})" for m in self.members))

    @torch.no_grad()
    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) normalised student inputs -> (N, K) combined teacher log-probabilities."""
        x = x.detach().float()
        views = torch.cat([x, x.flip(-1)])  # each crop and its mirror image
        n = len(x)
        total = torch.zeros((n, len(self.orders[0])), dtype=torch.float64, device=x.device)
        for member, order in zip(self.members, self.orders, strict=True):
            p = member.probs(views).to(x.device)[:, order.to(x.device)]
            logp = torch.log(p.double().clamp(LOG_FLOOR, 1.0))
            total += logp[:n] + logp[n:]
        return (total / (2 * len(self.members))).float()

    def targets(self, x: torch.Tensor, idx: torch.Tensor, epoch: int) -> torch.Tensor:
        """The trainer's one call for any teacher: here the teachers see the batch itself."""
        return self.log_probs(x)

    @torch.no_grad()
    def accuracy(self, loader, device=None) -> float:
        """Top-1 accuracy of the combined teacher on a (val) loader of the student's inputs."""
        right = seen = 0
        for x, y, _ in loader:
            hard = y.argmax(1) if y.ndim == 2 else y
            pred = self.log_probs(x.to(device) if device is not None else x).argmax(1).cpu()
            right += int((pred == hard).sum())
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
