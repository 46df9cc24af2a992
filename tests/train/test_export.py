"""ONNX export of a real (briefly) trained run: one self-contained file, card, parity < 1e-4."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from grinlab.data.dataset import FaceDataset
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard, sha256_file
from grinlab.preprocess import to_model_input
from grinlab.train import export as export_mod
from grinlab.train.config import TrainConfig
from grinlab.train.export import export_onnx
from grinlab.train.predict import TorchPredictor, load_run_model
from grinlab.train.trainer import Trainer


def smile_dataset(root: Path, per_class: int) -> FaceDataset:
    images, labels, sources = [], [], []
    for label, folder in enumerate(["negatives/negatives7", "positives/positives7"]):
        for path in sorted((root / "SMILEs" / folder).glob("*.jpg"))[-per_class:]:
            images.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
            labels.append(label)
            sources.append(str(path))
    return FaceDataset("smilesmiled", "smile", ("no_smile", "smile"), images, np.array(labels), sources)


@pytest.fixture(scope="module")
def trained(smilesmiled_dir, tmp_path_factory):
    train, val = smile_dataset(smilesmiled_dir, 100).split_by(0.3, seed=1)
    run = tmp_path_factory.mktemp("export") / "run"
    cfg = TrainConfig(model="simple_cnn", task="smile", epochs=2, batch_size=32, augment="light")
    Trainer(cfg, run, command="grinlab train --data X --task smile --model simple_cnn --out run").fit(
        train, val
    )
    return run, val


def test_export_writes_one_file_and_a_card_with_parity(trained, tmp_path):
    run, val = trained
    out = tmp_path / "smile.onnx"
    card = export_onnx(run, out, name="smile-test")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["smile.json", "smile.onnx"]
    onnx.checker.check_model(str(out))  # loads weights from the one file
    loaded = ModelCard.load(tmp_path / "smile.json")
    assert loaded == card
    assert card.name == "smile-test" and card.labels == ("no_smile", "smile") and card.task == "smile"
    assert card.sha256 == sha256_file(out) and card.onnx_file == "smile.onnx" and card.params > 0
    assert card.command.startswith("grinlab train") and "softmax" in card.notes
    assert card.metrics["onnx_parity"]["max_abs_diff"] < 1e-4 and card.metrics["onnx_parity"]["n_images"] > 0
    assert 0 <= card.metrics["val"]["accuracy"] <= 1

    # inference side: raw crops of another size, preprocessing built from the card only
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    crops = [cv2.resize(img, (96, 96)) for img in val.images[:7]]
    onnx_probs = session.run(None, {"input": to_model_input(crops, loaded.preprocessing)})[0]
    assert onnx_probs.shape == (7, 2) and np.allclose(onnx_probs.sum(1), 1, atol=1e-5)
    model, _, spec, _ = load_run_model(run)
    torch_probs = TorchPredictor(model, spec)(crops)
    assert np.abs(onnx_probs - torch_probs).max() < 1e-4
    one = session.run(None, {"input": to_model_input(crops[:1], loaded.preprocessing)})[0]
    assert one.shape == (1, 2)  # dynamic batch


def test_refuses_to_overwrite_without_force(trained, tmp_path):
    run, _ = trained
    out = tmp_path / "m.onnx"
    out.write_bytes(b"precious")
    with pytest.raises(GrinlabError, match="exists; pass --force"):
        export_onnx(run, out)
    assert out.read_bytes() == b"precious"
    export_onnx(run, out, force=True)
    assert out.read_bytes() != b"precious"


def test_parity_failure_writes_nothing(trained, tmp_path, monkeypatch):
    run, _ = trained
    monkeypatch.setattr(export_mod, "check_parity", lambda *a, **k: 0.5)
    with pytest.raises(GrinlabError, match="disagree by 5.00e-01"):
        export_onnx(run, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs(tmp_path):
    with pytest.raises(GrinlabError, match="checkpoint not found"):
        export_onnx(tmp_path / "no_run", tmp_path / "m.onnx")
    with pytest.raises(GrinlabError, match="must end in .onnx"):
        export_onnx(tmp_path, tmp_path / "m.txt")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(GrinlabError, match="cannot read checkpoint"):
        export_onnx(bad, tmp_path / "m.onnx")
