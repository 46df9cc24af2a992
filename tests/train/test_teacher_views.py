"""Stored teacher views (fast distillation): built once, drawn by the student, exactly resumable;
on real SMILEsmileD crops with a small teacher trained on them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_distill import val_accuracy
from test_trainer import quick_config

from grinlab.classify.onnx_classifier import OnnxClassifier
from grinlab.errors import GrinlabError
from grinlab.preprocess import Preprocessing
from grinlab.train.export import export_onnx
from grinlab.train.teacher_views import StoredTeacher, build_views, view_file
from grinlab.train.torch_data import FaceTorchDataset, fit_images
from grinlab.train.trainer import Trainer

CLASSES = ("no_smile", "smile")


@pytest.fixture(scope="module")
def splits(smile_splits):
    return smile_splits


@pytest.fixture(scope="module")
def teacher_model(smile_teacher):
    return smile_teacher


@pytest.fixture(scope="module")
def views(splits, teacher_model, tmp_path_factory):
    train, val = splits
    spec = Preprocessing()
    folder = tmp_path_factory.mktemp("views") / "v"
    build_views(
        fit_images(train, spec), train.labels, CLASSES, (str(teacher_model),), folder, n_views=3,
        preset="strong", val=(fit_images(val, spec), val.labels), command="grinlab teacher-views ...",
    )  # fmt: skip
    return folder


def test_views_hold_augmented_crops_and_the_teachers_probabilities_on_them(splits, teacher_model, views):
    train = splits[0]
    images = fit_images(train, Preprocessing())
    meta = json.loads((views / "meta.json").read_text())
    assert sorted(meta["views"]) == ["0", "1", "2"] and meta["teacher_val"]["n"] == len(splits[1])
    clf = OnnxClassifier(teacher_model)
    with np.load(view_file(views, 1)) as z:
        shown, probs = z["images"], z["probs"]
    assert shown.shape == images.shape and shown.dtype == np.uint8
    assert (shown != images).any(axis=(1, 2)).mean() > 0.95  # strong views differ from the crops
    # stored probabilities are the teacher's own on exactly these views (float16 storage)
    assert np.allclose(probs[:, 0], clf.predict_prepared(shown), atol=2e-3)


def test_the_student_draws_each_view_once_per_cycle_and_its_stored_target(splits, views):
    train = splits[0]
    spec = Preprocessing()
    ds = FaceTorchDataset(train, spec, "none", seed=0)
    stored = StoredTeacher(views, CLASSES, spec, ds.images, seed=0)
    ds.views = stored
    seen = np.stack([stored.view_of(np.arange(len(train)), e) for e in range(3)])
    assert (np.sort(seen, axis=0) == np.arange(3)[:, None]).all()  # every view once in 3 epochs
    ds.set_epoch(4)
    x, _, i = ds[7]
    k = stored.view_of(7, 4)
    with np.load(view_file(views, int(k))) as z:
        assert np.array_equal(stored.image(7, 4), z["images"][7])
        expected = np.log(np.clip(z["probs"][7, 0].astype(np.float32), 1e-7, 1)).astype(np.float32)
    assert np.allclose(stored.targets(x[None], torch.tensor([i]), 4).numpy()[0], expected, atol=1e-6)


def test_training_on_views_learns_the_teacher_and_records_it(splits, views, tmp_path):
    train, val = splits
    wrong = train.subset(np.arange(len(train)))
    wrong.labels = 1 - train.labels  # views are tied to the crops, not the labels
    cfg = quick_config(epochs=6, lr=3e-3, augment="none").replace(
        teacher_views=str(views), distill_weight=1.0, distill_temperature=1.0
    )
    run = tmp_path / "student"
    Trainer(cfg, run).fit(wrong, val)
    info = json.loads((run / "config.json").read_text())["teachers"]
    assert info["views"]["n_views"] == 3 and info["models"][0]["name"] == "teacher"
    assert val_accuracy(run) >= info["val_acc"] - 0.1  # follows the teacher, not the flipped labels
    card = export_onnx(run, tmp_path / "student.onnx", name="student")
    assert card.metrics["distillation"]["views"] == {"n_views": 3, "preset": "strong", "seed": 0}
    assert "teacher views (3 per crop):\ngrinlab teacher-views ..." in card.command


def test_views_of_other_crops_or_a_changed_build_are_refused(splits, teacher_model, views, tmp_path):
    train, val = splits
    spec = Preprocessing()
    with pytest.raises(GrinlabError, match="other training crops"):
        StoredTeacher(views, CLASSES, spec, fit_images(val, spec))
    with pytest.raises(GrinlabError, match="labelled for"):
        StoredTeacher(views, ("smile", "no_smile"), spec, fit_images(train, spec))
    images = fit_images(train, spec)
    with pytest.raises(GrinlabError, match="--resume"):  # an existing folder is not overwritten
        build_views(images, train.labels, CLASSES, (str(teacher_model),), views, n_views=3)
    with pytest.raises(GrinlabError, match="preset"):  # resuming with another preset
        build_views(
            images,
            train.labels,
            CLASSES,
            (str(teacher_model),),
            views,
            n_views=4,
            preset="light",
            resume=True,
        )


def test_a_killed_build_resumes_at_the_next_view_with_the_same_result(splits, teacher_model, views, tmp_path):
    train = splits[0]
    images = fit_images(train, Preprocessing())
    folder = tmp_path / "v"
    build_views(images, train.labels, CLASSES, (str(teacher_model),), folder, n_views=2, preset="strong")
    build_views(
        images, train.labels, CLASSES, (str(teacher_model),), folder, n_views=3, preset="strong", resume=True
    )
    for k in range(3):
        with np.load(view_file(folder, k)) as a, np.load(view_file(views, k)) as b:
            assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["probs"], b["probs"])


def test_a_corrupt_meta_or_view_file_is_one_clear_error(splits, views, tmp_path):
    images = fit_images(splits[0], Preprocessing())
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    with pytest.raises(GrinlabError, match="unreadable teacher-views meta.json"):
        StoredTeacher(broken, CLASSES, Preprocessing(), images)
    (broken / "meta.json").write_bytes((views / "meta.json").read_bytes())
    for k in range(3):  # truncated view files, as a full disk or a killed copy leaves them
        (broken / view_file(views, k).name).write_bytes(view_file(views, k).read_bytes()[:1000])
    with pytest.raises(GrinlabError, match="unreadable view file .* --resume"):
        StoredTeacher(broken, CLASSES, Preprocessing(), images)
