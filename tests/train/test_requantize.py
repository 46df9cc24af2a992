"""``grinlab export MODEL.onnx --int8``: a shipped int8 file quantized again from its file and card
alone, calibrated on the training crops the card names (FaceHack for the shipped valence)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from grinlab.cli import main  # noqa: E402
from grinlab.modelcard import ModelCard  # noqa: E402
from grinlab.shipped import shipped_models  # noqa: E402


@pytest.fixture
def valence_copy(facehack_dir, tmp_path):
    """The shipped valence file and its card, the card's dataset path pointed at this machine's FaceHack."""
    src = shipped_models()["valence"]
    dst = tmp_path / "old" / "valence.onnx"
    dst.parent.mkdir()
    shutil.copy(src, dst)
    card = json.loads(src.with_suffix(".json").read_text())
    card["dataset"]["path"] = str(facehack_dir)
    dst.with_suffix(".json").write_text(json.dumps(card))
    return dst


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_a_shipped_int8_file_quantized_again_keeps_its_answers_and_says_where_it_came_from(
    valence_copy, tmp_path, capsys
):
    from grinlab.classify import OnnxClassifier

    out = tmp_path / "new" / "valence.onnx"
    assert main(["export", str(valence_copy), "--int8", "--out", str(out)]) == 0
    assert "val: accuracy" in capsys.readouterr().out
    old, new = ModelCard.load(valence_copy.with_suffix(".json")), ModelCard.load(out.with_suffix(".json"))
    assert new.metrics["requantized_from"] == {"file": "valence.onnx", "sha256": old.sha256}
    assert new.metrics["val"]["n"] == old.metrics["val"]["n"] == 724
    assert new.sha256 != old.sha256 and new.labels == old.labels
    assert new.decision == old.decision and "chooses it again" in new.notes  # the rule stays, flagged
    assert "requantize: grinlab export" in new.command and old.command in new.command
    # this version's quantizer: the image reaches the first convolution unquantized
    first_conv = next(n for n in onnx.load(str(out)).graph.node if n.op_type == "Conv")
    assert first_conv.input[0] == "input"
    # the same network: the two files agree on nearly every face
    crops = [np.random.default_rng(i).integers(0, 256, (48, 48), dtype=np.uint8) for i in range(64)]
    p_old, p_new = (OnnxClassifier(p).predict_proba(crops) for p in (valence_copy, out))
    assert (p_old.argmax(1) == p_new.argmax(1)).mean() > 0.9


def test_requantize_refuses_what_it_cannot_do_in_one_line(valence_copy, tmp_path, capsys):
    out = str(tmp_path / "new.onnx")
    assert main(["export", str(valence_copy), "--out", out]) == 2  # a float export is not what it does
    assert "add --int8" in one_error_line(capsys)
    assert main(["export", str(valence_copy), "--int8", "--out", str(valence_copy), "--force"]) == 2
    assert "beside the old one" in one_error_line(capsys)

    card = json.loads(valence_copy.with_suffix(".json").read_text())
    card["dataset"]["splits"]["train"]["size"] += 1  # the data on this machine is not what trained it
    valence_copy.with_suffix(".json").write_text(json.dumps(card))
    assert main(["export", str(valence_copy), "--int8", "--out", out]) == 2
    assert "train split had 4108 faces" in one_error_line(capsys)

    assert main(["export", str(tmp_path / "missing.onnx"), "--int8", "--out", out]) == 2
    assert "missing.onnx: model file not found" in one_error_line(capsys)
    card["dataset"]["splits"]["train"]["size"] -= 1
    card["labels"] = ["no_smile", "smile"]  # a card of other labels than the graph's outputs
    valence_copy.with_suffix(".json").write_text(json.dumps(card))
    assert main(["export", str(valence_copy), "--int8", "--out", out]) == 2
    assert "the model has 3 outputs but its card lists 2 labels" in one_error_line(capsys)
    card["labels"] = ["no_smile", "positive_smile", "negative_smile"]

    del card["dataset"]["split"]
    valence_copy.with_suffix(".json").write_text(json.dumps(card))
    assert main(["export", str(valence_copy), "--int8", "--out", out]) == 2
    assert "does not say which dataset" in one_error_line(capsys)
    assert not (tmp_path / "new.onnx").exists() and not (tmp_path / "new.json").exists()


def test_a_float_export_is_quantized_and_a_damaged_file_is_one_line(valence_copy, tmp_path, capsys):
    from grinlab.train.dequantize import dequantized_model, is_qdq

    float_path = tmp_path / "float" / "valence_float.onnx"
    float_path.parent.mkdir()
    onnx.save(dequantized_model(onnx.load(str(valence_copy))), str(float_path))
    card = json.loads(valence_copy.with_suffix(".json").read_text())
    card["architecture"] = "resnet_tiny"
    float_path.with_suffix(".json").write_text(json.dumps(card))
    out = tmp_path / "q" / "valence.onnx"
    assert main(["export", str(float_path), "--int8", "--out", str(out)]) == 0
    assert is_qdq(onnx.load(str(out)))
    new = ModelCard.load(out.with_suffix(".json"))
    assert new.architecture == "resnet_tiny (int8)" and "a float export" in new.notes

    float_path.write_bytes(b"not an onnx file")
    assert main(["export", str(float_path), "--int8", "--out", str(tmp_path / "bad.onnx")]) == 2
    assert "ONNX Runtime cannot load this model" in one_error_line(capsys)
    assert not (tmp_path / "bad.onnx").exists()
