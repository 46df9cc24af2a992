"""Knowledge distillation from ONNX teachers, on real SMILEsmileD crops."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_trainer import quick_config

from grinlab.classify.onnx_classifier import OnnxClassifier
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard
from grinlab.preprocess import Preprocessing
from grinlab.train.config import TrainConfig
from grinlab.train.distill import Teacher, distillation_loss
from grinlab.train.export import export_onnx
from grinlab.train.torch_data import FaceTorchDataset, make_loader
from grinlab.train.trainer import Trainer


@pytest.fixture(scope="module")
def splits(smile_splits):
    return smile_splits


@pytest.fixture(scope="module")
def teacher_model(smile_teacher):
    return smile_teacher


def val_accuracy(run) -> float:
    return json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["val_acc"]


def test_log_probs_average_each_crop_and_its_mirror(splits, teacher_model):
    spec = Preprocessing()
    teacher = Teacher((str(teacher_model),), ("no_smile", "smile"), spec)
    x, _, _ = next(iter(make_loader(FaceTorchDataset(splits[1], spec), 16)))
    clf = OnnxClassifier(teacher_model)
    direct = np.log(clf.predict_input(x.numpy()))
    mirror = np.log(clf.predict_input(x.numpy()[..., ::-1]))
    assert np.allclose(teacher.log_probs(x).numpy(), (direct + mirror) / 2, atol=1e-5)
    # labels in another order than the task's are reordered by name
    reversed_task = Teacher((str(teacher_model),), ("smile", "no_smile"), spec)
    assert np.allclose(reversed_task.log_probs(x).numpy(), teacher.log_probs(x).numpy()[:, ::-1])


def test_distillation_loss_is_zero_only_when_student_matches_teacher():
    t = torch.log_softmax(torch.tensor([[2.0, -1.0, 0.5], [0.0, 3.0, 1.0]]), dim=1)
    assert distillation_loss(t + 7.0, t, 4.0).abs() < 1e-6  # logits up to a constant are the same
    assert distillation_loss(torch.zeros(2, 3), t, 4.0) > 1e-3


def test_student_learns_the_teacher_not_the_wrong_labels(splits, teacher_model, tmp_path):
    train, val = splits
    wrong = train.subset(np.arange(len(train)))
    wrong.labels = 1 - train.labels  # every training label flipped
    cfg = quick_config(epochs=6, lr=3e-3, augment="light")
    Trainer(cfg, tmp_path / "labels_only").fit(wrong, val)
    distilled = tmp_path / "distilled"
    Trainer(cfg.replace(teachers=(str(teacher_model),), distill_weight=1.0), distilled).fit(wrong, val)
    info = json.loads((distilled / "config.json").read_text())
    teacher_acc = info["teachers"]["val_acc"]  # the teacher's own val accuracy, recorded by the run
    assert teacher_acc > 0.65
    # pure distillation ignores the labels: the student follows the teacher; labels alone invert it
    assert val_accuracy(tmp_path / "labels_only") < 0.35
    assert info["teachers"]["models"][0]["name"] == "teacher"
    assert len(info["teachers"]["models"][0]["sha256"]) == 64
    # the student's card says how its teacher was made, and what the teacher scored
    card = export_onnx(distilled, tmp_path / "student.onnx", name="student")
    # "follows the teacher", measured face by face: the exported student (its best checkpoint) gives
    # the teacher's label on most val faces (92% measured). Its accuracy alone was a weak witness:
    # on 100 val faces it swung by up to 20 points between epochs (0.72, 0.52, 0.72, 0.71).
    crops = FaceTorchDataset(val, Preprocessing()).images
    student_labels = OnnxClassifier(tmp_path / "student.onnx").predict_prepared(crops).argmax(1)
    teacher_labels = OnnxClassifier(teacher_model).predict_prepared(crops).argmax(1)
    print("student agrees with the teacher on", (student_labels == teacher_labels).mean(), "of val")
    assert (student_labels == teacher_labels).mean() >= 0.85
    assert (student_labels == val.labels).mean() > 0.65
    teacher_card = ModelCard.load(teacher_model.with_suffix(".json"))
    assert card.command.startswith(f"teacher teacher ({teacher_model}, sha256 ")
    assert teacher_card.command in card.command and card.command.endswith(info["command"])
    assert card.metrics["distillation"]["teacher_val_acc"] == teacher_acc
    assert card.metrics["distillation"]["weight"] == 1.0


def test_resume_refuses_a_changed_teacher(splits, teacher_model, tmp_path):
    copy = tmp_path / "t.onnx"
    copy.write_bytes(teacher_model.read_bytes())
    copy.with_suffix(".json").write_bytes(teacher_model.with_suffix(".json").read_bytes())
    cfg = quick_config(epochs=1, teachers=(str(copy),))
    Trainer(cfg, tmp_path / "run").fit(*splits)
    export_onnx(tmp_path / "run", copy, name="teacher", force=True)  # another model, same file name
    with pytest.raises(GrinlabError, match="teacher files differ"):
        Trainer(cfg.replace(epochs=2), tmp_path / "run", resume=True).fit(*splits)


def test_teacher_must_match_the_task_and_input(splits, teacher_model, tmp_path):
    with pytest.raises(GrinlabError, match="exactly the task's labels"):
        Teacher((str(teacher_model),), ("angry", "happy"), Preprocessing())
    with pytest.raises(GrinlabError, match="takes 48x48 grey per_image but the student takes 64x64"):
        Teacher((str(teacher_model),), ("no_smile", "smile"), Preprocessing(size=(64, 64)))
    notes = tmp_path / "teacher.txt"
    notes.write_text("not a model")
    with pytest.raises(GrinlabError, match="is not an .onnx model"):
        Teacher((str(notes),), ("no_smile", "smile"), Preprocessing())
    with pytest.raises(GrinlabError, match="distillation weight must be in"):
        TrainConfig(teachers=(str(teacher_model),), distill_weight=0.0)
