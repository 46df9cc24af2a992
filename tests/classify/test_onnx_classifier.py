"""OnnxClassifier on real SMILEsmileD face crops: the shipped smile model and a tiny model exported
here with a logits output, plus the misuse cases (missing/invalid card, card/graph mismatch)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from grinlab.classify import OnnxClassifier
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard
from grinlab.preprocess import Preprocessing, to_model_input
from grinlab.shipped import resolve_model


def _faces(smilesmiled_dir: Path, kind: str, n: int) -> list[np.ndarray]:
    folder = smilesmiled_dir / "SMILEs" / kind / f"{kind}7"
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.jpg"))[:n]]


@pytest.fixture(scope="module")
def smiles(smilesmiled_dir):
    return _faces(smilesmiled_dir, "positives", 20)


@pytest.fixture(scope="module")
def neutrals(smilesmiled_dir):
    return _faces(smilesmiled_dir, "negatives", 20)


@pytest.fixture(scope="module")
def shipped():
    return OnnxClassifier(resolve_model("smile"))


@pytest.fixture(scope="module")
def logits_model(tmp_path_factory):
    """An untrained simple_cnn exported by hand WITHOUT softmax, its card saying "logits"."""
    torch = pytest.importorskip("torch")
    from grinlab.train.zoo import create_model

    torch.manual_seed(0)
    model = create_model("simple_cnn", 2).eval()
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, torch.zeros(1, 1, 48, 48), str(path), input_names=["input"],
                          output_names=["scores"], dynamic_axes={"input": {0: "n"}, "scores": {0: "n"}},
                          dynamo=False)  # fmt: skip
    spec = Preprocessing(size=(48, 48), channels=1, normalization="per_image")
    ModelCard(name="tiny", task="smile", labels=("no_smile", "smile"), preprocessing=spec,
              outputs="logits").save(path.with_suffix(".json"))  # fmt: skip
    return path, model


def test_shipped_model_tells_smiles_from_neutral_faces(shipped, smiles, neutrals):
    probs = shipped.predict_proba(smiles + neutrals)
    assert probs.shape == (40, 2) and probs.dtype == np.float32
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    y = np.array([1] * 20 + [0] * 20)
    assert (probs.argmax(1) == y).mean() >= 0.8
    assert shipped.labels == ("no_smile", "smile") and shipped.card.name == "smile"


def test_any_size_and_colour_and_empty_batch(shipped, smiles):
    face = smiles[0] if smiles[0].ndim == 2 else cv2.cvtColor(smiles[0], cv2.COLOR_BGR2GRAY)
    variants = [
        face,
        cv2.cvtColor(face, cv2.COLOR_GRAY2BGR),
        cv2.cvtColor(face, cv2.COLOR_GRAY2BGRA),
        cv2.resize(face, (150, 150)),
    ]
    probs = shipped.predict_proba(variants)
    assert probs.shape == (4, 2)
    # the same face in grey, BGR and BGRA is the same input once the card's preprocessing ran
    assert np.allclose(probs[0], probs[1], atol=1e-5) and np.allclose(probs[0], probs[2], atol=1e-5)
    assert shipped.predict_proba([]).shape == (0, 2)
    assert shipped.predict_prepared(np.zeros((0, 48, 48), np.uint8)).shape == (0, 2)


def test_predict_prepared_matches_predict_proba(shipped, smiles):
    prepared = np.stack([cv2.resize(f, (48, 48), interpolation=cv2.INTER_AREA) for f in smiles[:5]])
    assert np.allclose(shipped.predict_prepared(prepared), shipped.predict_proba(prepared), atol=1e-6)
    with pytest.raises(GrinlabError, match="predict_proba"):
        shipped.predict_prepared(np.zeros((2, 64, 64), np.uint8))


def test_many_faces_run_in_slices_with_the_same_answers(shipped, smiles, monkeypatch):
    # one ONNX Runtime call holds all of its faces' activations (a big net on 3,588 faces took
    # 23 GB), so long inputs run in slices; the answers must not change
    from grinlab.classify import onnx_classifier

    prepared = np.stack([cv2.resize(f, (48, 48), interpolation=cv2.INTER_AREA) for f in smiles[:7]])
    whole = shipped.predict_prepared(prepared)
    monkeypatch.setattr(onnx_classifier, "MAX_ROWS_PER_RUN", 3)
    assert np.allclose(shipped.predict_prepared(prepared), whole, atol=1e-6)


def test_logits_card_gets_softmax_matching_torch(logits_model, smiles):
    torch = pytest.importorskip("torch")
    path, model = logits_model
    clf = OnnxClassifier(path, threads=2)
    probs = clf.predict_proba(smiles[:6])
    with torch.no_grad():
        ref = torch.softmax(model(torch.from_numpy(to_model_input(smiles[:6], clf.card.preprocessing))), 1)
    assert np.allclose(probs, ref.numpy(), atol=1e-4)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_missing_or_invalid_card(tmp_path):
    lone = tmp_path / "lone.onnx"
    shutil.copy(resolve_model("smile"), lone)
    with pytest.raises(GrinlabError, match=r"lone\.json: model card not found"):
        OnnxClassifier(lone)
    lone.with_suffix(".json").write_text("{not json")
    with pytest.raises(GrinlabError, match="not valid JSON"):
        OnnxClassifier(lone)
    lone.with_suffix(".json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(GrinlabError, match="not a valid grinlab model card"):
        OnnxClassifier(lone)
    with pytest.raises(GrinlabError, match="model file not found"):
        OnnxClassifier(tmp_path / "absent.onnx")


def test_card_that_disagrees_with_the_graph(tmp_path):
    lone = tmp_path / "lone.onnx"
    shutil.copy(resolve_model("smile"), lone)
    card = json.loads(resolve_model("smile").with_suffix(".json").read_text())
    for change, message in (
        ({"preprocessing": {**card["preprocessing"], "size": [64, 64]}}, "card says"),
        ({"labels": ["a", "b", "c"]}, "2 outputs but its card lists 3 labels"),
        ({"outputs": "scores"}, "outputs must be one of"),
    ):
        lone.with_suffix(".json").write_text(json.dumps({**card, **change}))
        with pytest.raises(GrinlabError, match=message):
            OnnxClassifier(lone)


def test_corrupt_onnx_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    shutil.copy(resolve_model("smile").with_suffix(".json"), bad.with_suffix(".json"))
    with pytest.raises(GrinlabError, match="ONNX Runtime cannot load"):
        OnnxClassifier(bad)


def test_multithreaded_sessions_do_not_spin(smiles):
    # spinning pool threads of one session slowed the next one (a cascade ran at half speed)
    clf = OnnxClassifier(resolve_model("smile"), threads=2)
    assert (
        clf._session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    )
    assert clf.predict_proba(smiles[:3]).shape == (3, 2)
