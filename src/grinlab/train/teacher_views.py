"""Stored teacher views: fast knowledge distillation from teachers too slow to ask online.

``build_views`` draws a fixed set of seeded augmented views of every training crop, runs each
teacher on every view once (ONNX Runtime, the whole CPU) and stores the uint8 views and the
teachers' probabilities in a folder::

    meta.json              teachers (path, name, sha256), preset, seed, classes, input spec, the
                           sha256 of the training crops, views finished, teacher statistics
    view_000.npz ...       one file per view: ``images`` uint8 (N, H, W[, C]) and ``probs``
                           float16 (N, n_teachers, n_classes), in the task's class order

Training with ``grinlab train --teacher-views DIR`` then draws one stored view per crop and epoch
(``view_index``) and learns the teachers' stored distribution on exactly that view, as fast
knowledge distillation does with stored soft labels (Shen & Xing 2022): the expensive teachers
run once, not once per epoch.

Why views rather than the stored crops: teachers trained on these crops are nearly one-hot on
them (95.9% train accuracy for the FER2013 teachers), so their soft targets on unaltered images
carry little beyond the label. On views they never saw (strong, varied augmentation) they are
soft and informative. Each view file is written atomically, so a killed build resumes at the
next unfinished view with the same result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..preprocess import Preprocessing, normalize
from .augment import Augmenter

log = logging.getLogger(__name__)

FORMAT = "grinlab-teacher-views-1"
LOG_FLOOR = 1e-7
# A view's augmentation key is (VIEW_KEY, view, index): three parts, so it never equals the
# trainer's (epoch, index) keys for on-top augmentation of the same seed.
VIEW_KEY = 7919
BATCH = 256


def images_sha256(images: np.ndarray) -> str:
    """Identity of a stack of fitted uint8 crops (shape, dtype and bytes)."""
    h = hashlib.sha256(repr((images.shape, str(images.dtype))).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    return h.hexdigest()


def view_file(folder: Path, k: int) -> Path:
    return folder / f"view_{k:03d}.npz"


def view_offsets(n_images: int, n_views: int, seed: int) -> np.ndarray:
    """A seeded view offset per crop; crop ``i`` shows view ``(offset[i] + epoch) % n_views``, so
    every crop cycles through all its views, each once per ``n_views`` epochs."""
    return np.random.default_rng([seed, VIEW_KEY]).integers(0, n_views, size=n_images)


def _teachers(models: tuple[str, ...], classes: tuple[str, ...]):
    """(distill.Teacher, input spec): the teachers, checked as online distillation checks them,
    against the first teacher's input (stored views serve teachers of one input)."""
    from ..modelcard import ModelCard
    from ..shipped import card_path, resolve_model
    from .distill import Teacher

    if not models:
        raise GrinlabError("teacher views need at least one teacher model (--teacher MODEL)")
    spec = ModelCard.load(card_path(resolve_model(models[0]))).preprocessing
    return Teacher(models, classes, spec), spec


def _teacher_probs(teacher, spec: Preprocessing, images: np.ndarray) -> np.ndarray:
    """uint8 crops at the teachers' input -> (N, n_teachers, n_classes) float32, task order."""
    import torch

    out = np.empty((len(images), len(teacher.members), len(teacher.orders[0])), np.float32)
    for s in range(0, len(images), BATCH):
        x = torch.from_numpy(normalize(images[s : s + BATCH], spec))
        for t, (member, order) in enumerate(zip(teacher.members, teacher.orders, strict=True)):
            out[s : s + BATCH, t] = member.probs(x)[:, order].cpu().numpy()
    return out


def combine(probs: np.ndarray) -> np.ndarray:
    """(..., n_teachers, C) probabilities -> (..., C) mean log-probabilities (a geometric-mean
    ensemble, as grinlab.train.distill combines live teachers)."""
    return np.log(np.clip(probs.astype(np.float32), LOG_FLOOR, 1.0)).mean(axis=-2)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GrinlabError(
            f"{path}: unreadable teacher-views meta.json ({exc}); rebuild with --force"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GrinlabError(f"{path}: not a grinlab teacher-views folder; rebuild with --force")
    return meta


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def build_views(
    images: np.ndarray,
    labels: np.ndarray,
    classes: tuple[str, ...],
    teachers: tuple[str, ...],
    out: str | os.PathLike,
    n_views: int = 8,
    preset: str = "strong",
    seed: int = 0,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    resume: bool = False,
    force: bool = False,
    source: dict | None = None,
    command: str = "",
) -> dict:
    """Write ``n_views`` views of ``images`` (uint8 crops already fitted to the teachers' input)
    and the teachers' probabilities on each into ``out``; returns the meta dict. ``val`` =
    (fitted val crops, labels) records the combined teacher's accuracy on unaltered val crops."""
    folder = Path(out)
    if n_views < 1:
        raise GrinlabError(f"--views must be at least 1, got {n_views}")
    t, spec = _teachers(tuple(teachers), tuple(classes))
    want = {
        "format": FORMAT,
        "classes": list(classes),
        "preprocessing": spec.to_dict(),
        "teachers": [i.to_dict() for i in t.info],
        "preset": preset,
        "seed": int(seed),
        "n_images": int(len(images)),
        "images_sha256": images_sha256(images),
        "source": source or {},
    }
    meta_path = folder / "meta.json"
    if folder.exists() and any(folder.iterdir()):
        if force:
            for p in folder.glob("view_*.npz"):
                p.unlink()
            meta_path.unlink(missing_ok=True)
        elif not resume:
            raise GrinlabError(f"{folder} exists; pass --resume to add views to it or --force to start over")
        elif meta_path.is_file():
            old = _read_meta(meta_path)
            diff = sorted(k for k in want if old.get(k) != want[k])
            if diff:
                raise GrinlabError(
                    f"{folder}: cannot resume, these differ from the stored views: {', '.join(diff)}; "
                    "use the same data, teachers, preset and seed, or --force"
                )
            want.update({k: old[k] for k in ("teacher_val", "views") if k in old})
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**want, "views": want.get("views", {}), "command": command}
    if val is not None and "teacher_val" not in meta:
        p = _teacher_probs(t, spec, val[0])
        meta["teacher_val"] = {
            "n": int(len(val[1])),
            "accuracy_each": [float((p[:, i].argmax(1) == val[1]).mean()) for i in range(p.shape[1])],
            "accuracy_combined": float((combine(p).argmax(1) == val[1]).mean()),
        }
        log.info("teachers on unaltered val crops: %s", meta["teacher_val"])
    _write_json(meta_path, meta)
    augmenter = Augmenter(preset, seed)
    for k in range(n_views):
        path = view_file(folder, k)
        if path.is_file() and str(k) in meta["views"]:
            continue
        t0 = time.perf_counter()
        views = np.stack([augmenter(img, (VIEW_KEY, k, i)) for i, img in enumerate(images)])
        probs = _teacher_probs(t, spec, views)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, images=views, probs=probs.astype(np.float16))
        os.replace(tmp, path)
        comb = combine(probs)
        soft = np.exp(comb - comb.max(1, keepdims=True))
        soft /= soft.sum(1, keepdims=True)
        meta["views"][str(k)] = {
            "teacher_accuracy": float((comb.argmax(1) == labels).mean()),
            "teacher_confidence": float(soft.max(1).mean()),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        _write_json(meta_path, meta)
        log.info("view %d/%d: %s", k + 1, n_views, meta["views"][str(k)])
    return meta


class StoredTeacher:
    """Stored views and teacher targets for a training run (``grinlab train --teacher-views``).

    ``image(i, epoch)`` is the view crop ``i`` shows in ``epoch``; ``log_probs(indices, epoch)``
    the combined teacher log-probabilities on exactly those views."""

    def __init__(
        self,
        folder: str | os.PathLike,
        classes: tuple[str, ...],
        spec: Preprocessing,
        images: np.ndarray,
        seed: int = 0,
    ):
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        if not meta_path.is_file():
            raise GrinlabError(
                f"{self.folder}: no stored teacher views (meta.json missing); build them with grinlab teacher-views"
            )
        meta = _read_meta(meta_path)
        if tuple(meta["classes"]) != tuple(classes):
            raise GrinlabError(
                f"{self.folder}: views were labelled for {', '.join(meta['classes'])}, "
                f"this run's task has {', '.join(classes)}"
            )
        if Preprocessing.from_dict(meta["preprocessing"]) != spec:
            raise GrinlabError(
                f"{self.folder}: views are for the teachers' input {meta['preprocessing']}, not this "
                "run's; train with the teachers' --input-size, --channels and --normalization"
            )
        if meta["n_images"] != len(images) or meta["images_sha256"] != images_sha256(images):
            raise GrinlabError(
                f"{self.folder}: views were made from other training crops ({meta['n_images']} images); "
                "build them from this run's --data, --task and --seed"
            )
        done = sorted(int(k) for k in meta["views"] if view_file(self.folder, int(k)).is_file())
        if not done or done != list(range(len(done))):
            raise GrinlabError(f"{self.folder}: no complete run of views 0..k; finish it with --resume")
        self.meta = meta
        self.n_views = len(done)
        imgs, logp = [], []
        for k in done:
            try:
                with np.load(view_file(self.folder, k)) as z:
                    imgs.append(z["images"])
                    logp.append(combine(z["probs"]))
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                raise GrinlabError(
                    f"{view_file(self.folder, k)}: unreadable view file ({exc}); delete it and rebuild it "
                    "with grinlab teacher-views --resume"
                ) from None
        self.images = np.stack(imgs)  # (K, N, H, W[, C])
        self.logp = np.stack(logp).astype(np.float32)  # (K, N, C)
        self.info = meta["teachers"]
        self.offsets = view_offsets(len(images), self.n_views, seed)

    def view_of(self, indices, epoch: int) -> np.ndarray:
        return (self.offsets[np.asarray(indices)] + epoch) % self.n_views

    def image(self, i: int, epoch: int) -> np.ndarray:
        return self.images[self.view_of(i, epoch), i]

    def log_probs(self, indices, epoch: int) -> np.ndarray:
        indices = np.asarray(indices)
        return self.logp[self.view_of(indices, epoch), indices]

    def targets(self, x, idx, epoch: int):
        """The trainer's one call for any teacher: the stored targets of the views in the batch."""
        import torch

        return torch.from_numpy(self.log_probs(idx.cpu().numpy(), epoch)).to(x.device)

    def summary(self) -> dict:
        """What config.json and the model card record of the views."""
        m = self.meta
        return {
            "folder": str(self.folder),
            "n_views": self.n_views,
            "preset": m["preset"],
            "seed": m["seed"],
            "images_sha256": m["images_sha256"],
            "teacher_val_acc": m.get("teacher_val", {}).get("accuracy_combined", float("nan")),
            "teacher_accuracy_on_views": float(
                np.mean([m["views"][str(k)]["teacher_accuracy"] for k in range(self.n_views)])
            ),
            "command": m.get("command", ""),
        }
