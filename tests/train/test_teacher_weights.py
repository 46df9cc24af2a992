"""Exported zoo teachers back in torch (grinlab.train.teacher_weights), on real SMILEsmileD crops:
the same function as the ONNX file, a compact file that names its source, refusals."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import torch
from test_trainer import quick_config

from grinlab.classify.onnx_classifier import OnnxClassifier
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard, sha256_file
from grinlab.preprocess import Preprocessing, normalize
from grinlab.shipped import resolve_model
from grinlab.train.distill import Teacher
from grinlab.train.export import export_onnx
from grinlab.train.provenance import teacher_commands
from grinlab.train.teacher_weights import (
    load_teacher_weights,
    save_teacher_weights,
    unfold_batchnorm,
    zoo_model_from_onnx,
)
from grinlab.train.torch_data import FaceTorchDataset, make_loader
from grinlab.train.trainer import Trainer

CLASSES = ("no_smile", "smile")


def test_onnx_weights_run_in_torch_as_in_onnx_runtime(smile_splits, smile_teacher, tmp_path):
    model, card = zoo_model_from_onnx(smile_teacher)  # checks parity itself; here on real crops too
    assert card["architecture"] == "simple_cnn"
    spec = Preprocessing()
    x, _, _ = next(iter(make_loader(FaceTorchDataset(smile_splits[1], spec), 32)))
    onnx_teacher = Teacher((str(smile_teacher),), CLASSES, spec)
    with torch.no_grad():
        probs = torch.softmax(model(x), 1)
    assert torch.allclose(probs, onnx_teacher.members[0].probs(x), atol=1e-5)

    # the float16 file: about half the weights' bytes, its card names the ONNX file and its sha256
    pt = save_teacher_weights(smile_teacher, tmp_path / "teacher.pt")
    assert pt.stat().st_size < 0.7 * smile_teacher.stat().st_size
    half, half_card = load_teacher_weights(pt)
    assert half_card["sha256"] == sha256_file(smile_teacher) and half_card["onnx_file"] == smile_teacher.name
    torch_teacher = Teacher((str(pt),), CLASSES, spec)
    info = torch_teacher.info[0]
    assert info.sha256 == sha256_file(smile_teacher) and info.weights_sha256 == sha256_file(pt)
    assert "torch" in torch_teacher.members[0].where
    diff = (torch_teacher.log_probs(x).exp() - onnx_teacher.log_probs(x).exp()).abs().max()
    assert float(diff) < 5e-3  # float16 weights
    assert np.array_equal(torch_teacher.log_probs(x).argmax(1), onnx_teacher.log_probs(x).argmax(1))
    # a student's card says how the teacher was made: the ONNX file's card travels inside the .pt
    made = teacher_commands({"teachers": {"models": [info.to_dict()]}})[0]
    assert ModelCard.load(smile_teacher.with_suffix(".json")).command in made
    assert f"float16 teacher weights of {smile_teacher.name}" in made


def test_refuses_what_is_not_a_float_zoo_export(tmp_path):
    # a teacher must be the file's exact function: an int8 file stays in ONNX Runtime
    with pytest.raises(GrinlabError, match="an int8 export is not a zoo network"):
        zoo_model_from_onnx(resolve_model("smile"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(GrinlabError, match="not a teacher-weights file"):
        load_teacher_weights(junk)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(GrinlabError, match="not a grinlab-teacher-weights-1 file"):
        load_teacher_weights(tmp_path / "other.pt")
    # a student exported after its teacher file was damaged: the card says so, the export goes on
    for bad in (junk, tmp_path / "other.pt"):
        made = teacher_commands(
            {"teachers": {"models": [{"name": "t", "path": str(bad), "sha256": "0" * 64}]}}
        )
        assert "how it was made is not known" in made[0] and "not a" in made[0]


def _batchnorms(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.fixture(scope="module")
def resnet_export(smile_splits, tmp_path_factory):
    """A resnet_tiny (BatchNorm after every convolution) trained briefly and exported: the export
    folds its BatchNorm layers."""
    root = tmp_path_factory.mktemp("resnet_export")
    Trainer(quick_config(model="resnet_tiny", epochs=2, lr=3e-3, augment="light"), root / "run").fit(
        *smile_splits
    )
    return export_onnx(root / "run", root / "resnet.onnx", name="resnet") and root / "resnet.onnx"


def test_unfolded_batchnorm_keeps_the_function_and_trains_from_it(smile_splits, resnet_export):
    spec = Preprocessing()
    x = torch.from_numpy(normalize(FaceTorchDataset(smile_splits[0], spec).images, spec))
    model, _ = zoo_model_from_onnx(resnet_export)
    folded = copy.deepcopy(model)
    with torch.no_grad():
        exported = torch.softmax(model(x), 1)
        for bn in _batchnorms(folded):  # folded, a training batch would rescale every channel
            bn.train()
        folded_in_training = torch.softmax(folded(x), 1)
    assert unfold_batchnorm(model, x) == len(_batchnorms(model)) > 0
    with torch.no_grad():
        unfolded = torch.softmax(model(x), 1)
        for bn in _batchnorms(model):
            bn.train()
        unfolded_in_training = torch.softmax(model(x), 1)
    assert torch.allclose(unfolded, exported, atol=1e-4)
    # on the batch whose statistics it was given, training-mode BatchNorm computes the same function
    assert torch.allclose(unfolded_in_training, exported, atol=1e-3)
    print("folded in training mode: max diff", float((folded_in_training - exported).abs().max()))
    assert float((folded_in_training - exported).abs().max()) > 0.05
    assert unfold_batchnorm(model, x) == 0  # nothing left folded


def test_training_starts_from_an_exported_network(smile_splits, resnet_export, tmp_path):
    run = tmp_path / "run"
    config = quick_config(
        model="resnet_tiny", epochs=1, augment="none", lr=1e-3, init_from=str(resnet_export)
    )
    history = Trainer(config, run).fit(*smile_splits)
    info = json.loads((run / "config.json").read_text())
    assert info["init_from"] == {
        "file": "resnet.onnx",
        "name": "resnet",
        "sha256": sha256_file(resnet_export),
        "command": ModelCard.load(resnet_export.with_suffix(".json")).command,
    }
    print("val acc after one epoch from the exported net:", history[0]["val_acc"])
    card = export_onnx(run, tmp_path / "m.onnx", name="m")
    assert card.metrics["initialised_from"]["sha256"] == sha256_file(resnet_export)
    # a teacher-weights file starts a run the same way and is named by its ONNX source
    pt = save_teacher_weights(resnet_export, tmp_path / "teacher.pt")
    config = quick_config(model="resnet_tiny", epochs=1, augment="none", init_from=str(pt))
    Trainer(config, tmp_path / "run_pt").fit(*smile_splits)
    info = json.loads((tmp_path / "run_pt" / "config.json").read_text())
    assert info["init_from"]["sha256"] == sha256_file(resnet_export)


def test_training_starts_from_a_shipped_int8_network(smile_splits, tmp_path):
    # only the int8 files are shipped: their weights, taken back to float, start a run (by name too)
    shipped = resolve_model("smile")
    spec = Preprocessing()
    x = torch.from_numpy(normalize(FaceTorchDataset(smile_splits[1], spec).images, spec))
    model, card = zoo_model_from_onnx(shipped, int8=True)  # parity with the dequantized graph checked
    with torch.no_grad():
        torch_labels = model(x).argmax(1).numpy()
    int8_labels = OnnxClassifier(shipped).predict_input(x.numpy()).argmax(1)
    assert card["architecture"] == "resnet_tiny (int8)"
    assert (torch_labels == int8_labels).mean() >= 0.95  # the int8 model without its activation rounding

    run = tmp_path / "run"
    config = quick_config(
        model="resnet_tiny", epochs=1, augment="none", lr=1e-4, init_from="smile", keep_head=True
    )
    history = Trainer(config, run).fit(*smile_splits)
    info = json.loads((run / "config.json").read_text())
    assert info["init_from"]["sha256"] == sha256_file(shipped) and info["init_from"]["name"] == "smile"
    print("val acc after one epoch from the shipped int8 smile net:", history[0]["val_acc"])
    assert history[0]["val_acc"] >= 0.8  # it starts from a trained net, not from scratch


def test_the_export_of_a_transfer_run_loads_too(smile_splits, resnet_export, tmp_path):
    # a run started from another network has the new two-layer head; its float export is a teacher
    # or a start like any other (before, its second Gemm made it "not the zoo's resnet_tiny")
    config = quick_config(model="resnet_tiny", epochs=1, augment="none", init_from=str(resnet_export))
    Trainer(config, tmp_path / "run").fit(*smile_splits)
    export_onnx(tmp_path / "run", tmp_path / "tuned.onnx", name="tuned")
    model, _ = zoo_model_from_onnx(tmp_path / "tuned.onnx")  # checks parity with ONNX Runtime
    again, _ = load_teacher_weights(save_teacher_weights(tmp_path / "tuned.onnx", tmp_path / "tuned.pt"))
    x = torch.from_numpy(
        normalize(FaceTorchDataset(smile_splits[1], Preprocessing()).images[:32], Preprocessing())
    )
    with torch.no_grad():
        assert torch.allclose(model(x), again(x), atol=2e-2)  # float16 weights
    kept = quick_config(model="resnet_tiny", epochs=1, init_from=str(tmp_path / "tuned.onnx"), keep_head=True)
    history = Trainer(kept, tmp_path / "kept").fit(*smile_splits)
    assert np.isfinite(history[0]["train_loss"])


def test_an_exported_network_with_other_input_is_refused(smile_splits, resnet_export, tmp_path):
    config = quick_config(
        model="resnet_tiny",
        epochs=1,
        init_from=str(resnet_export),
        preprocessing=Preprocessing(size=(64, 64)),
    )
    with pytest.raises(GrinlabError, match="same --input-size"):
        Trainer(config, tmp_path / "run").fit(*smile_splits)


def test_a_bad_network_to_start_from_fails_before_the_data_loads(resnet_export, tmp_path):
    from grinlab.train.trainer import train_run

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"hello")
    shutil.copy(resnet_export.with_suffix(".json"), junk.with_suffix(".json"))
    damaged_card = tmp_path / "damaged.onnx"
    shutil.copy(resnet_export, damaged_card)
    damaged_card.with_suffix(".json").write_text("{")
    other_size = tmp_path / "other_size.onnx"  # a card that says 64x64 beside a 48x48 graph
    shutil.copy(resolve_model("smile"), other_size)
    card = json.loads(resolve_model("smile").with_suffix(".json").read_text())
    card["preprocessing"]["size"] = [64, 64]
    other_size.with_suffix(".json").write_text(json.dumps(card))
    SHIPPED_INT8_DOES_NOT_FIT = (
        r"an exported resnet_tiny \(int8\) network, which does not fit.*--model resnet_tiny \("
    )
    cases = {
        str(junk): "not a readable ONNX file",
        str(damaged_card): "model card is not valid JSON",
        # the run below is simple_cnn; the shipped int8 smile net is a resnet_tiny start too
        str(resolve_model("smile")): SHIPPED_INT8_DOES_NOT_FIT,
        str(resnet_export): "an exported resnet_tiny network, which does not fit",
        str(other_size): "cannot run it on its card's input .* so card and file agree",
    }
    for path, message in cases.items():
        # the data path does not exist: the network to start from is checked first
        config = quick_config(init_from=path).replace(data=str(tmp_path / "no_data_here"))
        with pytest.raises(GrinlabError, match=message):
            train_run(config, tmp_path / "run")
