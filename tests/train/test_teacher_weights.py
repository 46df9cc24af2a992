"""Exported zoo teachers back in torch (grinlab.train.teacher_weights), on real SMILEsmileD crops:
the same function as the ONNX file, a compact file that names its source, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grinlab.errors import GrinlabError
from grinlab.modelcard import sha256_file
from grinlab.preprocess import Preprocessing
from grinlab.shipped import resolve_model
from grinlab.train.distill import Teacher
from grinlab.train.teacher_weights import load_teacher_weights, save_teacher_weights, zoo_model_from_onnx
from grinlab.train.torch_data import FaceTorchDataset, make_loader

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


def test_refuses_what_is_not_a_float_zoo_export(tmp_path):
    with pytest.raises(GrinlabError, match="does not match|not a zoo network"):
        zoo_model_from_onnx(resolve_model("smile"))  # int8: QLinearConv, not Conv
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(GrinlabError, match="not a teacher-weights file"):
        load_teacher_weights(junk)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(GrinlabError, match="not a grinlab-teacher-weights-1 file"):
        load_teacher_weights(tmp_path / "other.pt")
