"""Flip test-time augmentation at inference (AnalyzerOptions.flip_tta, --flip-tta) on real faces."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from grinlab.classify import load_classifier, predict_proba_flip_tta
from grinlab.cli import main
from grinlab.pipeline import Analyzer
from grinlab.shipped import resolve_model


@pytest.fixture(scope="module")
def faces(smilesmiled_dir):
    folders = ("positives/positives7", "negatives/negatives7")
    paths = [p for f in folders for p in sorted((smilesmiled_dir / "SMILEs" / f).glob("*.jpg"))[:6]]
    return paths, [cv2.imread(str(p)) for p in paths]


@pytest.mark.parametrize("model", ["smile", "valence", "emotion7"])
def test_flip_tta_is_the_mean_of_each_face_and_its_mirror(faces, model):
    _, images = faces
    clf = load_classifier(resolve_model(model))  # valence is a cascade, the others plain networks
    plain = clf.predict_proba(images)
    mirrored = clf.predict_proba([np.ascontiguousarray(im[:, ::-1]) for im in images])
    tta = predict_proba_flip_tta(clf, images)
    np.testing.assert_allclose(tta, (plain + mirrored) / 2, atol=1e-5)
    np.testing.assert_allclose(tta.sum(1), 1, atol=1e-5)
    assert np.abs(tta - plain).max() > 1e-3  # the mirror view really changes the answer


def test_analyzer_with_flip_tta_reads_a_face_and_its_mirror_alike(faces):
    _, images = faces
    with (
        Analyzer(faces_are_crops=True, models=("emotion7",), flip_tta=True) as tta,
        Analyzer(faces_are_crops=True, models=("emotion7",)) as plain,
    ):
        for im in images:
            a = tta.analyze(im).faces[0].predictions["emotion7"].probabilities
            b = tta.analyze(np.ascontiguousarray(im[:, ::-1])).faces[0].predictions["emotion7"].probabilities
            assert max(abs(a[k] - b[k]) for k in a) < 1e-5
        differs = [
            tta.analyze(im).faces[0].predictions["emotion7"].probabilities
            != plain.analyze(im).faces[0].predictions["emotion7"].probabilities
            for im in images
        ]
        assert all(differs)


def test_cli_flip_tta_rows_match_the_python_api(faces, tmp_path):
    paths, images = faces
    out = tmp_path / "out"
    args = [
        "analyze",
        *map(str, paths[:3]),
        "--out",
        str(out),
        "--crops",
        "--no-annotate",
        "--models",
        "smile",
    ]
    assert main([*args, "--flip-tta"]) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    expected = predict_proba_flip_tta(load_classifier(resolve_model("smile")), images[:3])
    by_source = {r["source"]: r["faces"][0]["predictions"]["smile"]["probabilities"]["smile"] for r in rows}
    for p, e in zip(paths[:3], expected[:, 1], strict=True):
        assert by_source[str(p)] == pytest.approx(float(e), abs=1e-5)
