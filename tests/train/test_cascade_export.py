"""int8 export and the shared-trunk cascade graph, on briefly trained real FaceHack runs."""

from __future__ import annotations

import numpy as np
import pytest

from grinlab.classify import load_classifier
from grinlab.classify.cascade import make_cascade_card
from grinlab.data import load_splits
from grinlab.errors import GrinlabError
from grinlab.modelcard import ModelCard
from grinlab.train.cascade_export import export_shared_cascade
from grinlab.train.config import TrainConfig
from grinlab.train.export import export_onnx
from grinlab.train.trainer import train_run

QUICK = dict(
    model="resnet_tiny", epochs=1, batch_size=32, max_train_batches=6, augment="none", evaluate=False
)


@pytest.fixture(scope="module")
def runs(facehack_dir, tmp_path_factory):
    """A smile gate, a polarity branch on its frozen blocks, and a branch trained from scratch."""
    root = tmp_path_factory.mktemp("cascade")
    data = str(facehack_dir)
    train_run(TrainConfig(task="smile", data=data, **QUICK), root / "gate")
    gate_ckpt = str(root / "gate" / "checkpoints" / "best.pt")
    branch = TrainConfig(
        task="smile_polarity", data=data, init_from=gate_ckpt, freeze="all_but_last", **QUICK
    )
    train_run(branch, root / "branch")
    train_run(TrainConfig(task="smile_polarity", data=data, **QUICK), root / "scratch")
    return root


@pytest.fixture(scope="module")
def valence_val(facehack_dir):
    return load_splits(facehack_dir, task="valence")["val"]


def test_shared_trunk_graph_answers_as_the_two_network_cascade(runs, tmp_path, valence_val):
    card = export_shared_cascade(runs / "gate", runs / "branch", "smile", tmp_path / "v.onnx", command="x y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json", "v.onnx"]
    assert card.task == "valence" and card.labels == ("no_smile", "positive_smile", "negative_smile")
    assert "first 4 of 5 blocks shared" in card.architecture  # all but the branch's trained last block
    assert card.metrics["onnx_parity"]["max_abs_diff"] < 1e-4
    assert card.metrics["val"]["n"] == len(valence_val)
    assert card.command.splitlines()[0].startswith("gate: ") and card.command.endswith("export: x y")

    # the runtime's own two-stage cascade over the two runs exported separately
    export_onnx(runs / "gate", tmp_path / "stages" / "gate.onnx")
    export_onnx(runs / "branch", tmp_path / "stages" / "branch.onnx")
    make_cascade_card(
        tmp_path / "stages/gate.onnx", tmp_path / "stages/branch.onnx", "smile", tmp_path / "two.json"
    )
    crops = list(valence_val.images[:200])
    merged = load_classifier(tmp_path / "v.onnx").predict_proba(crops)
    two = load_classifier(tmp_path / "two.json").predict_proba(crops)
    np.testing.assert_allclose(merged, two, atol=1e-5)
    np.testing.assert_allclose(merged.sum(1), 1.0, atol=1e-5)


def test_int8_cascade_is_measured_on_the_quantized_file(runs, tmp_path, valence_val):
    f = export_shared_cascade(runs / "gate", runs / "branch", "smile", tmp_path / "f.onnx")
    q = export_shared_cascade(runs / "gate", runs / "branch", "smile", tmp_path / "q.onnx", int8=True)
    assert q.architecture.endswith("(int8)") and "int8" in q.notes
    assert (tmp_path / "q.onnx").stat().st_size < 0.6 * (tmp_path / "f.onnx").stat().st_size
    assert q.metrics["int8"]["n_images"] == len(valence_val) and q.metrics["int8"]["top1_agreement"] > 0.9
    crops = list(valence_val.images)
    pf = load_classifier(tmp_path / "f.onnx").predict_proba(crops)
    pq = load_classifier(tmp_path / "q.onnx").predict_proba(crops)
    assert q.metrics["val"]["accuracy"] == pytest.approx((pq.argmax(1) == valence_val.labels).mean())
    # the probabilities stay float: they sum to 1 and are not stuck on a 1/255 grid
    np.testing.assert_allclose(pq.sum(1), 1.0, atol=1e-5)
    assert len(np.unique(pq[:, 0])) > 0.9 * len(crops)
    assert f.metrics["val"]["accuracy"] == pytest.approx((pf.argmax(1) == valence_val.labels).mean())


def test_int8_export_of_one_run(runs, tmp_path):
    card = export_onnx(runs / "gate", tmp_path / "smile.onnx", int8=True, command="grinlab export gate")
    assert ModelCard.load(tmp_path / "smile.json") == card
    assert card.architecture == "resnet_tiny (int8)" and card.command.endswith("export: grinlab export gate")
    assert set(card.metrics) == {"val", "int8", "onnx_parity"}  # measured again, on the int8 file
    assert "percentile" in card.metrics["int8"]["calibration"]
    clf = load_classifier(tmp_path / "smile.onnx")
    assert clf.predict_proba(
        list(load_splits(card.dataset["path"], task="smile")["val"].images[:8])
    ).shape == (8, 2)


def test_a_branch_that_shares_no_block_is_refused_with_the_fix(runs, tmp_path):
    with pytest.raises(GrinlabError, match="--freeze all_but_last"):
        export_shared_cascade(runs / "gate", runs / "scratch", "smile", tmp_path / "v.onnx")
    with pytest.raises(GrinlabError, match="not one of the gate's labels"):
        export_shared_cascade(runs / "gate", runs / "branch", "happy", tmp_path / "v.onnx")
    assert not list(tmp_path.iterdir())  # nothing half-written
