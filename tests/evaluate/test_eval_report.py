"""Reports, comparison, the evaluate/compare/visualize commands and the ONNX classifier, on real data."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from grinlab.classify import OnnxClassifier
from grinlab.cli import main
from grinlab.data import load_smilesmiled
from grinlab.errors import GrinlabError
from grinlab.evaluate.compare import COLUMNS, compare_runs
from grinlab.evaluate.report import evaluate_predictor
from grinlab.evaluate.robustness import mask_region
from grinlab.shipped import resolve_model


@pytest.fixture(scope="module")
def smile_val(smilesmiled_dir):
    _, val = load_smilesmiled(smilesmiled_dir).split_by(0.05, seed=1)
    return val


@pytest.fixture(scope="module")
def shipped_smile():
    return OnnxClassifier(resolve_model("smile"))


def test_report_writes_everything_and_refuses_to_overwrite(smile_val, shipped_smile, tmp_path):
    out = tmp_path / "report"
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "train_acc": 0.5 + e / 10,
            "val_acc": 0.5 + e / 12,
        }
        for e in (1, 2, 3)
    ]
    s = evaluate_predictor(
        shipped_smile.predict_prepared, smile_val, shipped_smile.card.preprocessing, out, history=history
    )
    assert s["n"] == len(smile_val) and s["accuracy"] > 0.85
    for f in (
        "summary.json",
        "report.md",
        "confusion.png",
        "curves.png",
        "reliability.png",
        "mistakes_grid.png",
    ):
        assert (out / f).is_file(), f
    pairs = {p.name for p in (out / "mistakes").iterdir()}
    assert pairs <= {"smile__as__no_smile", "no_smile__as__smile"} and pairs
    assert sum(s["mistakes"].values()) == round((1 - s["accuracy"]) * s["n"])
    assert set(s["occlusion"]["accuracy"]) == {"eyes", "mouth"}
    # a smile model should lean on the mouth more than the eyes
    assert s["occlusion"]["accuracy"]["mouth"] < s["occlusion"]["accuracy"]["eyes"]
    assert 0 <= s["flip_tta"]["accuracy"] <= 1
    before = (out / "summary.json").read_text()
    with pytest.raises(GrinlabError, match="--force"):
        evaluate_predictor(shipped_smile.predict_prepared, smile_val, shipped_smile.card.preprocessing, out)
    assert (out / "summary.json").read_text() == before


def test_mask_region_only_touches_the_region():
    batch = np.random.default_rng(0).integers(0, 255, (2, 48, 48), dtype=np.uint8)
    masked = mask_region(batch, "mouth")
    changed = np.argwhere((masked != batch).any(axis=0))
    assert changed[:, 0].min() >= int(0.62 * 48) and changed[:, 0].max() < round(0.88 * 48)


def test_onnx_classifier_batches_and_errors(shipped_smile, photos_dir, tmp_path):
    img = cv2.imread(str(photos_dir / "astronaut.png"))
    face = img[60:180, 170:280]
    probs = shipped_smile.predict_proba([face, cv2.cvtColor(face, cv2.COLOR_BGR2GRAY), face[:50, :50]])
    assert probs.shape == (3, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert shipped_smile.predict_proba([]).shape == (0, 2)
    lone = tmp_path / "lone.onnx"
    shutil.copy(resolve_model("smile"), lone)
    with pytest.raises(GrinlabError, match="model card not found"):
        OnnxClassifier(lone)
    card = json.loads(resolve_model("smile").with_suffix(".json").read_text())
    card["preprocessing"]["size"] = [64, 64]
    lone.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(GrinlabError, match="card says"):
        OnnxClassifier(lone)


def _image_folder(root, smilesmiled_dir, classes=("smile", "no_smile"), n=12):
    src = {"smile": "positives/positives7", "no_smile": "negatives/negatives7"}
    for c in classes:
        (root / c).mkdir(parents=True)
        for p in sorted((smilesmiled_dir / "SMILEs" / src.get(c, "negatives/negatives7")).glob("*.jpg"))[:n]:
            shutil.copy(p, root / c / p.name)
    return root


def test_evaluate_cli_with_shipped_model(smilesmiled_dir, tmp_path, capsys):
    data = _image_folder(tmp_path / "faces", smilesmiled_dir)
    code = main(
        ["evaluate", "--model", "smile", "--data", str(data), "--split", "all", "--out", str(tmp_path / "r")]
    )
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert s["n"] == 24 and set(s["recall"]) == {"no_smile", "smile"} and s["faces_not_found"] == 0


def test_evaluate_cli_refuses_unknown_classes(smilesmiled_dir, tmp_path, capsys):
    data = _image_folder(tmp_path / "faces", smilesmiled_dir, classes=("smile", "grin"))
    code = main(
        ["evaluate", "--model", "smile", "--data", str(data), "--split", "all", "--out", str(tmp_path / "r")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "grin" in err and err.count("\n") == 1


def test_evaluate_pipeline_on_whole_photos(photos_dir, tmp_path, capsys):
    root = tmp_path / "photos"
    (root / "smile").mkdir(parents=True)
    (root / "no_smile").mkdir()
    shutil.copy(photos_dir / "white_house" / "obama.jpg", root / "smile")
    shutil.copy(photos_dir / "astronaut.png", root / "smile")
    shutil.copy(photos_dir / "white_house" / "biden.jpg", root / "no_smile")
    cv2.imwrite(str(root / "no_smile" / "blank.png"), np.full((200, 200, 3), 128, np.uint8))
    code = main(["evaluate", "--model", "smile", "--data", str(root), "--split", "all", "--pipeline",
                 "--detector", "haar", "--out", str(tmp_path / "r"), "--no-occlusion"])  # fmt: skip
    assert code == 0
    s = json.loads(capsys.readouterr().out)
    assert s["n"] == 3 and s["faces_not_found"] == 1 and s["accuracy"] == 1.0


def _fake_run(path, model, val_losses, test=None):
    path.mkdir(parents=True)
    (path / "config.json").write_text(
        json.dumps({"model": model, "params": 1234, "config": {"monitor": "val_loss"}})
    )
    lines = [json.dumps({"epoch": i + 1, "train_loss": v * 0.9, "train_acc": 0.8, "val_loss": v, "val_acc": 1 - v,
                         "val_macro_f1": 0.7, "images_per_s": 100.0}) for i, v in enumerate(val_losses)]  # fmt: skip
    (path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    if test:
        (path / "results.json").write_text(
            json.dumps({"val": {"accuracy": 0.77, "macro_f1": 0.7}, "test": {"accuracy": test}})
        )
    return path


def test_compare_rows_and_cli(tmp_path, capsys):
    a = _fake_run(tmp_path / "a", "simple_cnn", [0.5, 0.3, 0.4], test=0.81)
    b = _fake_run(tmp_path / "b", "vgg_small", [0.6, 0.5])
    rows = compare_runs([a, b], time_onnx=False)
    assert rows[0]["best_epoch"] == 2 and rows[0]["min_val_loss"] == 0.3 and rows[0]["test_acc"] == 0.81
    assert rows[1]["epochs"] == 2 and rows[1]["test_acc"] is None
    assert (
        main(["compare", str(a), str(b), "--out", str(tmp_path / "t.md"), "--csv", str(tmp_path / "t.csv")])
        == 0
    )
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("| " + " | ".join(COLUMNS)) and "vgg_small" in md
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == ",".join(COLUMNS)
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "nope")]) == 2
    assert "not a grinlab run folder" in capsys.readouterr().err


def test_visualize_cli(smilesmiled_dir, tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--data", str(smilesmiled_dir), "--task", "smile", "--model", "simple_cnn", "--epochs", "1",
                 "--max-train-batches", "2", "--no-eval", "--out", str(run)]) == 0  # fmt: skip
    face = next((smilesmiled_dir / "SMILEs" / "positives" / "positives7").glob("*.jpg"))
    assert main(["visualize", str(run), "--image", str(face), "--out", str(tmp_path / "viz")]) == 0
    names = {p.name for p in (tmp_path / "viz").iterdir()}
    assert "filters.png" in names and sum(n.startswith("stage") for n in names) == 3
