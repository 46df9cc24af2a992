"""Fixtures shared by the distillation tests: real SMILEsmileD crops and a small teacher trained
on them once per session (online and stored-view distillation both learn from it)."""

from __future__ import annotations

import pytest
from test_trainer import quick_config, smile_dataset

from grinlab.train.export import export_onnx
from grinlab.train.trainer import Trainer


@pytest.fixture(scope="session")
def smile_splits(smilesmiled_dir):
    return smile_dataset(smilesmiled_dir, 200).split_by(0.25, seed=0)


@pytest.fixture(scope="session")
def smile_teacher(smile_splits, tmp_path_factory):
    """A small smile net trained on the true labels, exported to ONNX with its card."""
    root = tmp_path_factory.mktemp("teacher")
    Trainer(quick_config(epochs=6, lr=3e-3, augment="light"), root / "run").fit(*smile_splits)
    out = root / "teacher.onnx"
    export_onnx(root / "run", out, name="teacher")
    return out
