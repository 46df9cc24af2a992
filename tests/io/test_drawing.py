"""Annotated pictures that read well, on real photos: each label names its model, sits outside
its box on no face and no other label, inside the image and scaled to the face; crowds get a
numbered legend below the picture; video frames keep their size."""

from __future__ import annotations

import cv2
import pytest

from grinlab.io.drawing import draw_frame
from grinlab.io.label_layout import face_rect, layout
from grinlab.pipeline import Analyzer


@pytest.fixture(scope="module")
def analyzer(yunet_path):
    with Analyzer(detector="yunet", detector_options={"model_path": str(yunet_path)}) as a:
        yield a


def inside(rect, shape) -> bool:
    return rect.x >= 0 and rect.y >= 0 and rect.x + rect.w <= shape[1] and rect.y + rect.h <= shape[0]


def check_layout(result, shape):
    blocks = layout(result.faces, shape)
    boxes = [face_rect(f) for f in result.faces]
    placed = [b for b in blocks if b is not None]
    for k, block in enumerate(placed):
        assert inside(block.rect, shape)
        assert not any(block.rect.overlaps(box) for box in boxes)  # covers no face
        assert not any(block.rect.overlaps(other.rect) for other in placed[k + 1 :])
        assert [line.split(":")[0] for line in block.lines] == ["smile", "val", "emo"]  # each names its model
    return blocks


def test_a_face_at_the_top_edge_gets_its_whole_label_inside_the_image(analyzer, photos_dir):
    photo = cv2.imread(str(photos_dir / "white_house" / "obama.jpg"))
    top = cv2.resize(photo[100:700, 100:900], (400, 300), interpolation=cv2.INTER_AREA)
    result = analyzer.analyze(top)
    assert len(result.faces) == 1 and result.faces[0].box.y < 10  # the face touches the top edge
    (block,) = check_layout(result, top.shape)
    assert (
        block is not None
        and block.lines[0] == f"smile: smile {result.faces[0].predictions['smile'].score:.2f}"
    )
    assert draw_frame(top, result).shape == top.shape  # no legend needed


def test_a_group_photo_labels_every_face_where_it_fits(analyzer, photos_dir):
    photo = cv2.imread(str(photos_dir / "dlib_faces" / "2008_002470.jpg"))
    result = analyzer.analyze(photo)
    blocks = check_layout(result, photo.shape)
    assert len(result.faces) >= 6 and sum(b is not None for b in blocks) >= 5  # 6 people
    # the one label that fits nowhere is listed below the picture, numbered on the face
    drawn = draw_frame(photo, result)
    assert drawn.shape[1] == photo.shape[1] and drawn.shape[0] > photo.shape[0]


def test_the_solvay_crowd_gets_a_legend_and_video_frames_keep_their_size(analyzer, photos_dir):
    photo = cv2.imread(str(photos_dir / "solvay_1927" / "Solvay_conference_1927.jpg"))
    result = analyzer.analyze(photo)
    check_layout(result, photo.shape)
    assert len(result.faces) >= 28
    drawn = draw_frame(photo, result)
    assert drawn.shape[1] == photo.shape[1] and photo.shape[0] < drawn.shape[0] < 2 * photo.shape[0]
    assert draw_frame(photo, result, legend=False).shape == photo.shape
    assert draw_frame(photo, result, legend=True).shape[0] > photo.shape[0]


def test_analyze_legend_lists_every_face_below_the_picture(tmp_path, photos_dir, yunet_path):
    from grinlab.cli import main

    photo = photos_dir / "white_house" / "obama.jpg"
    args = ["analyze", str(photo), "--detector", "yunet", "--yunet-model", str(yunet_path)]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--legend"]) == 0
    plain = cv2.imread(str(tmp_path / "a" / "annotated" / "obama.jpg"))
    legend = cv2.imread(str(tmp_path / "b" / "annotated" / "obama.jpg"))
    assert plain.shape == cv2.imread(str(photo)).shape and legend.shape[0] > plain.shape[0]
