"""grinlab.classify.tta: the mirror image and the two ways of running flip TTA, on real faces
through a shipped model."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grinlab.classify import load_classifier
from grinlab.classify.tta import flip_tta, mean_of_views, mirror, predict_proba_flip_tta
from grinlab.preprocess import fit_crop
from grinlab.shipped import resolve_model


@pytest.fixture(scope="module")
def faces(smilesmiled_dir):
    folders = ("positives/positives7", "negatives/negatives7")
    paths = [p for f in folders for p in sorted((smilesmiled_dir / "SMILEs" / f).glob("*.jpg"))[:4]]
    return [cv2.imread(str(p)) for p in paths]  # BGR, as a face crop reaches a classifier


def test_mirror_flips_left_and_right_of_a_crop_or_a_batch(faces):
    face = faces[0]
    (one,) = mirror([face])
    assert one.flags.c_contiguous and np.array_equal(one, cv2.flip(face, 1))
    batch = np.stack(faces)
    mirrored = mirror(batch)
    assert mirrored.flags.c_contiguous and mirrored.shape == batch.shape
    assert all(np.array_equal(m, cv2.flip(f, 1)) for m, f in zip(mirrored, faces, strict=True))
    assert np.array_equal(mirror(mirror(batch)), batch)


def test_both_ways_give_the_mean_of_each_face_and_its_mirror(faces):
    clf = load_classifier(resolve_model("emotion7"))
    expected = mean_of_views(clf.predict_proba(faces), clf.predict_proba(mirror(faces)))
    np.testing.assert_allclose(predict_proba_flip_tta(clf, faces), expected, atol=1e-6)
    batch = np.stack([fit_crop(f, clf.card.preprocessing) for f in faces])
    plain = clf.predict_prepared(batch)
    np.testing.assert_allclose(flip_tta(clf.predict_prepared, batch), expected, atol=1e-6)
    np.testing.assert_array_equal(
        flip_tta(clf.predict_prepared, batch, plain), flip_tta(clf.predict_prepared, batch)
    )
