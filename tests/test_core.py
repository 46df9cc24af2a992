"""Core contracts: preprocessing, model cards, label sets, dataset splits, torch-free import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from grinlab import GrinlabError, ModelCard, Preprocessing
from grinlab.data import FaceDataset, stratified_split
from grinlab.labels import map_emotion7, task_labels
from grinlab.preprocess import fit_crop, normalize, to_model_input


@pytest.fixture(scope="module")
def astronaut(photos_dir):
    return cv2.imread(str(photos_dir / "astronaut.png"))


def test_import_grinlab_does_not_import_torch():
    code = (
        "import sys, grinlab, grinlab.data, grinlab.preprocess, grinlab.modelcard;"
        "import grinlab.cli; grinlab.cli.build_parser();"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_imports_make_no_network_connection():
    """albumentations looks for a newer release on PyPI when imported; the lab switches that off
    (offline it only warns, but grinlab must not try). Any connect() during the imports fails."""
    code = (
        "import os, socket;"
        "os.environ.pop('NO_ALBUMENTATIONS_UPDATE', None);"
        "calls = [];"
        "socket.socket.connect = lambda self, addr: calls.append(addr);"
        "socket.create_connection = lambda addr, *a, **k: calls.append(addr);"
        "import grinlab, grinlab.train.augment, grinlab.train.trainer, grinlab.cli, numpy;"
        "grinlab.cli.build_parser();"
        "grinlab.train.augment.Augmenter('light')(numpy.zeros((48, 48), numpy.uint8), (0, 0));"
        "import contextlib, io"
    )
    for args in (["--help"], ["train", "--help"], ["analyze", "--help"]):  # `grinlab --help` and the lab's
        code += f"\nwith contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): grinlab.cli.main({args!r})"
    code += "\nimport time; time.sleep(0.5)\nprint(calls)"  # the version check runs in a thread
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_fit_crop_converts_channels_and_size(astronaut):
    grey = fit_crop(astronaut, Preprocessing(size=(48, 48), channels=1))
    assert grey.shape == (48, 48) and grey.dtype == np.uint8
    bgr = fit_crop(astronaut[:, :, 0], Preprocessing(size=(64, 64), channels=3))
    assert bgr.shape == (64, 64, 3)
    bgra = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    assert fit_crop(bgra, Preprocessing(size=(48, 48), channels=3)).shape == (48, 48, 3)


@pytest.mark.parametrize("norm", ["per_image", "mean_std", "unit"])
def test_normalize_layout_and_statistics(astronaut, norm):
    spec = Preprocessing(
        size=(48, 48), channels=3, normalization=norm, mean=(0.4, 0.5, 0.6), std=(0.2, 0.2, 0.2)
    )
    x = to_model_input([astronaut, astronaut[:100, :100]], spec)
    assert x.shape == (2, 3, 48, 48) and x.dtype == np.float32
    if norm == "per_image":
        assert np.allclose(x.mean(axis=(1, 2, 3)), 0, atol=1e-4)
        assert np.allclose(x.std(axis=(1, 2, 3)), 1, atol=1e-3)
    if norm == "unit":
        assert 0 <= x.min() and x.max() <= 1


def test_normalize_blank_image_is_finite():
    x = normalize(np.full((1, 48, 48), 128, np.uint8), Preprocessing())
    assert np.isfinite(x).all() and np.allclose(x, 0)


def test_empty_batch():
    assert to_model_input([], Preprocessing(size=(64, 64), channels=3)).shape == (0, 3, 64, 64)


def test_preprocessing_validation():
    with pytest.raises(GrinlabError, match="channels"):
        Preprocessing(channels=2)
    with pytest.raises(GrinlabError, match="normalization"):
        Preprocessing(normalization="zscore")


def test_model_card_round_trip(tmp_path):
    card = ModelCard(
        name="m", task="smile", labels=("no_smile", "smile"), preprocessing=Preprocessing(size=(64, 64))
    )
    card.save(tmp_path / "m.json")
    assert ModelCard.load(tmp_path / "m.json") == card
    (tmp_path / "bad.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(GrinlabError, match="not a valid grinlab model card"):
        ModelCard.load(tmp_path / "bad.json")
    with pytest.raises(GrinlabError, match="not found"):
        ModelCard.load(tmp_path / "missing.json")


def test_labels():
    assert task_labels("emotion7")[3] == "happy"
    assert map_emotion7("happy", "happy_neutral") == "smile"
    assert map_emotion7("neutral", "happy_neutral") == "no_smile"
    assert map_emotion7("fear", "happy_neutral") is None
    with pytest.raises(GrinlabError, match="known tasks"):
        task_labels("joy")


def test_stratified_split_is_seeded_and_stratified():
    labels = np.array([0] * 100 + [1] * 20)
    tr, va = stratified_split(labels, 0.15, seed=3)
    assert len(va) == 15 + 3 and len(tr) + len(va) == 120
    assert set(tr).isdisjoint(va)
    assert np.array_equal(va, stratified_split(labels, 0.15, seed=3)[1])
    assert not np.array_equal(va, stratified_split(labels, 0.15, seed=4)[1])


def test_dataset_subset_keeps_alignment():
    imgs = [np.full((4, 4), i, np.uint8) for i in range(10)]
    ds = FaceDataset(
        "t", "smile", ("no_smile", "smile"), imgs, [i % 2 for i in range(10)], [f"s{i}" for i in range(10)]
    )
    tr, va = ds.split_by(0.2, seed=0)
    for part in (tr, va):
        for img, lab, src in zip(part.images, part.labels, part.sources):
            assert int(src[1:]) == img[0, 0] and lab == img[0, 0] % 2
    assert tr.split == "train" and va.counts() == {"no_smile": 1, "smile": 1}


def test_the_public_api_takes_a_path_or_an_array(photos_dir):
    """`import grinlab` exposes the analyzer (loaded on first use) and its results."""
    import json

    import grinlab

    photo = photos_dir / "white_house" / "obama.jpg"
    with grinlab.Analyzer(detector="haar", models=("smile",)) as analyzer:
        by_path = analyzer.analyze(photo)
        by_array = analyzer.analyze(cv2.imread(str(photo)), source=str(photo))
    assert isinstance(by_path, grinlab.FrameResult) and by_path.source == str(photo)
    (face,) = by_path.faces
    assert isinstance(face, grinlab.FaceResult) and face.predictions["smile"].label == "smile"
    a, b = by_path.to_dict(), by_array.to_dict()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert json.loads(json.dumps(a)) == json.loads(json.dumps(b))  # the JSON of one results.jsonl line
    with pytest.raises(grinlab.GrinlabError, match="file not found"):
        grinlab.Analyzer(detector="haar", models=("smile",)).analyze(photos_dir / "nope.jpg")


def test_import_grinlab_stays_light():
    out = subprocess.run([sys.executable, "-c", "import grinlab, sys; print('onnxruntime' in sys.modules, "
                          "'grinlab.pipeline' in sys.modules)"], capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.split() == ["False", "False"]
