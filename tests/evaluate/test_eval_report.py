"""evaluate_predictor on a real SMILEsmileD val set with the shipped smile model, and the
robustness helpers (flip TTA, occlusion masks) it uses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grinlab.classify import OnnxClassifier
from grinlab.data import load_smilesmiled
from grinlab.errors import GrinlabError
from grinlab.evaluate.report import evaluate_predictor
from grinlab.evaluate.robustness import OCCLUSIONS, flip_tta, mask_region, mask_scar
from grinlab.shipped import resolve_model

HISTORY = [
    {"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_acc": 0.5 + e / 10, "val_acc": 0.5 + e / 12}
    for e in (1, 2, 3)
]


@pytest.fixture(scope="module")
def smile_val(smilesmiled_dir):
    _, val = load_smilesmiled(smilesmiled_dir).split_by(0.05, seed=1)
    return val


@pytest.fixture(scope="module")
def shipped_smile():
    return OnnxClassifier(resolve_model("smile"))


@pytest.fixture(scope="module")
def report(smile_val, shipped_smile, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "report"
    clf = shipped_smile
    summary = evaluate_predictor(clf.predict_prepared, smile_val, clf.card.preprocessing, out, history=HISTORY,
                                 name="smile")  # fmt: skip
    return out, summary


def test_report_writes_every_file(report, smile_val):
    out, s = report
    for f in (
        "summary.json",
        "report.md",
        "confusion.png",
        "curves.png",
        "reliability.png",
        "mistakes_grid.png",
    ):
        assert (out / f).is_file(), f
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(s))
    md = (out / "report.md").read_text()
    for link in ("confusion.png", "reliability.png", "curves.png", "mistakes_grid.png"):
        assert f"]({link})" in md
    assert s["n"] == len(smile_val) and s["dataset"]["size"] == len(smile_val)
    assert s["ms_per_face"] > 0


def test_report_numbers_are_consistent(report):
    _, s = report
    assert s["accuracy"] > 0.85  # the shipped model: 94% on its own val split
    cm = np.array(s["confusion"])
    assert cm.sum() == s["n"] and np.trace(cm) / cm.sum() == pytest.approx(s["accuracy"])
    assert sum(s["mistakes"].values()) == s["n"] - np.trace(cm)
    assert sum(b["n"] for b in s["reliability_bins"]) == s["n"]
    assert 0 <= s["flip_tta"]["accuracy"] <= 1 and "accuracy" in s  # reported beside, not instead
    assert set(s["occlusion"]["accuracy"]) == set(OCCLUSIONS)
    # a smile model leans on the mouth more than on the eyes
    assert s["occlusion"]["accuracy"]["mouth"] < s["occlusion"]["accuracy"]["eyes"]


def test_report_refuses_to_overwrite_without_force(report, smile_val, shipped_smile):
    out, _ = report
    before = (out / "summary.json").read_text()
    spec = shipped_smile.card.preprocessing
    with pytest.raises(GrinlabError, match="--force"):
        evaluate_predictor(shipped_smile.predict_prepared, smile_val, spec, out)
    assert (out / "summary.json").read_text() == before
    small = smile_val.subset(range(30))
    s = evaluate_predictor(shipped_smile.predict_prepared, small, spec, out, force=True, occlusion=False,
                           flip_tta=False, mistakes=False)  # fmt: skip
    assert s["n"] == 30 and not (out / "mistakes").exists() and not (out / "curves.png").exists()
    assert "occlusion" not in s and "flip_tta" not in s


def test_force_never_deletes_a_folder_that_is_not_a_report(smile_val, shipped_smile, tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(GrinlabError, match=r"thesis\.tex"):
        evaluate_predictor(shipped_smile.predict_prepared, smile_val, shipped_smile.card.preprocessing, tmp_path,
                           force=True)  # fmt: skip
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_predictor_with_the_wrong_number_of_classes(smile_val, shipped_smile, tmp_path):
    three = lambda b: np.full((len(b), 3), 1 / 3)  # noqa: E731
    with pytest.raises(GrinlabError, match="2 classes"):
        evaluate_predictor(three, smile_val, shipped_smile.card.preprocessing, tmp_path / "r")


def test_mask_region_only_touches_the_region():
    batch = np.random.default_rng(0).integers(0, 255, (2, 48, 48), dtype=np.uint8)
    masked = mask_region(batch, "mouth")
    changed = np.argwhere((masked != batch).any(axis=0))
    assert changed[:, 0].min() >= int(0.62 * 48) and changed[:, 0].max() < round(0.88 * 48)
    assert changed[:, 1].min() >= int(0.2 * 48) and changed[:, 1].max() < round(0.8 * 48)
    assert (masked[0, 35, 20] == round(batch[0].mean())) and (batch == batch).all()


def test_scar_is_seeded_and_works_on_colour():
    batch = np.random.default_rng(1).integers(0, 255, (3, 48, 48, 3), dtype=np.uint8)
    a, b = mask_scar(batch), mask_scar(batch)
    assert np.array_equal(a, b)
    frac = (a != batch).any(axis=-1).mean(axis=(1, 2))
    assert ((frac > 0.05) & (frac < 0.3)).all()


def test_flip_tta_averages_a_crop_and_its_mirror():
    batch = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    left_bright = lambda b: np.stack([b[:, :, :2].mean((1, 2)), b[:, :, 2:].mean((1, 2))], 1)  # noqa: E731
    tta = flip_tta(left_bright, batch)
    assert np.allclose(tta[:, 0], tta[:, 1])


def test_evaluate_onnx_by_shipped_name(smile_val, tmp_path):
    from grinlab.evaluate.onnx_eval import evaluate_onnx

    s = evaluate_onnx("smile", smile_val.subset(range(40)), tmp_path / "r", occlusion=False, flip_tta=False)
    assert s["n"] == 40 and s["name"] == "smile" and s["faces_not_found"] == 0
    assert (tmp_path / "r" / "summary.json").is_file()


def test_inference_side_of_evaluate_never_imports_torch():
    import subprocess
    import sys

    code = (
        "import sys, grinlab.evaluate.report, grinlab.evaluate.compare, grinlab.evaluate.onnx_eval, "
        "grinlab.evaluate.metrics, grinlab.evaluate.plots, grinlab.classify, grinlab.cli.evaluate_cmd, "
        "grinlab.cli.compare_cmd, grinlab.cli.visualize_cmd; assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
