"""Image-folder loader: class/split layouts, label aliases, and the errors a user can cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from grinlab.colour import to_grey
from grinlab.data import load_image_folder
from grinlab.errors import GrinlabError
from grinlab.io.images import IMAGE_SUFFIXES, read_image


def _copy(src: list[Path], dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for p in src:
        shutil.copy(p, dst / p.name)


@pytest.fixture
def smile_faces(smilesmiled_dir) -> dict[str, list[Path]]:
    """A few real SMILEsmileD crops of each class."""
    smiles = smilesmiled_dir / "SMILEs"
    return {
        "smile": sorted((smiles / "positives" / "positives7").glob("*.jpg"))[:6],
        "no_smile": sorted((smiles / "negatives" / "negatives7").glob("*.jpg"))[:4],
    }


def test_class_layout_with_aliases_and_nested_files(tmp_path, smile_faces):
    _copy(smile_faces["smile"][:3], tmp_path / "Smiling")
    _copy(smile_faces["smile"][3:], tmp_path / "Smiling" / "more")  # searched recursively
    _copy(smile_faces["no_smile"], tmp_path / "non-smile")
    ds = load_image_folder(tmp_path, task="smile")
    assert ds.classes == ("no_smile", "smile") and ds.task == "smile"
    assert ds.counts() == {"no_smile": 4, "smile": 6}
    assert all(img.ndim == 2 and img.dtype == np.uint8 for img in ds.images)  # grey jpgs stay grey
    assert all(Path(s).is_file() for s in ds.sources)


def test_custom_task_uses_sorted_folder_names_or_given_classes(tmp_path, smile_faces):
    _copy(smile_faces["smile"], tmp_path / "b_yes")
    _copy(smile_faces["no_smile"], tmp_path / "a_no")
    ds = load_image_folder(tmp_path)
    assert ds.task == "custom" and ds.classes == ("a_no", "b_yes")
    ds = load_image_folder(tmp_path, classes=["B_YES", "A_NO"])
    assert ds.classes == ("B_YES", "A_NO") and ds.counts() == {"B_YES": 6, "A_NO": 4}


def test_split_layout_kaggle_style(tmp_path, smile_faces, photos_dir):
    _copy(smile_faces["smile"][:4], tmp_path / "train" / "happy")
    _copy(smile_faces["no_smile"][:3], tmp_path / "train" / "neutral")
    _copy(smile_faces["smile"][4:], tmp_path / "test" / "happy")
    _copy(smile_faces["no_smile"][3:], tmp_path / "test" / "neutral")
    _copy(smile_faces["no_smile"][:2], tmp_path / "test" / "angry")
    colour = tmp_path / "train" / "angry"
    _copy([photos_dir / "astronaut.png"], colour)
    train = load_image_folder(tmp_path, task="emotion7", split="train")
    assert train.split == "train" and train.counts()["happy"] == 4 and train.counts()["angry"] == 1
    assert train.images[train.labels.tolist().index(0)].ndim == 3  # colour png is BGR
    test = load_image_folder(tmp_path, task="happy_neutral", split="test")
    assert test.counts() == {"no_smile": 1, "smile": 2} and test.skipped == {"not_in_task": 2}
    assert len(load_image_folder(tmp_path, task="emotion7")) == 4 + 3 + 2 + 1 + 2 + 1
    with pytest.raises(GrinlabError, match="has no val split folder"):
        load_image_folder(tmp_path, split="validation")
    with pytest.raises(GrinlabError, match="unknown split 'dev'"):
        load_image_folder(tmp_path, split="dev")


def test_unreadable_image_is_an_error_unless_skipped(tmp_path, smile_faces):
    _copy(smile_faces["smile"], tmp_path / "smile")
    _copy(smile_faces["no_smile"], tmp_path / "no_smile")
    broken = tmp_path / "smile" / "broken.jpg"
    broken.write_bytes(b"")
    with pytest.raises(GrinlabError, match=r"broken\.jpg: cannot read it as an image"):
        load_image_folder(tmp_path, task="smile")
    ds = load_image_folder(tmp_path, task="smile", skip_unreadable=True)
    assert ds.skipped == {"unreadable": 1} and len(ds) == 10
    assert str(broken) not in ds.sources


def test_folder_errors_name_the_problem(tmp_path, smile_faces):
    with pytest.raises(GrinlabError, match="image folder .*missing not found"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "root").mkdir()
    with pytest.raises(GrinlabError, match="no class folders in"):
        load_image_folder(tmp_path / "root")
    _copy(smile_faces["smile"], tmp_path / "root" / "smile")
    (tmp_path / "root" / "no_smile").mkdir()
    with pytest.raises(GrinlabError, match=r"class folder .*no_smile has no images"):
        load_image_folder(tmp_path / "root", task="smile")
    _copy(smile_faces["no_smile"], tmp_path / "root" / "no_smile")
    _copy(smile_faces["no_smile"], tmp_path / "root" / "grimace")
    with pytest.raises(
        GrinlabError, match=r"grimace is not a label of task 'smile'; expected one of no_smile, smile"
    ):
        load_image_folder(tmp_path / "root", task="smile")
    with pytest.raises(GrinlabError, match=r"grimace is not a label of task 'custom'"):
        load_image_folder(tmp_path / "root", classes=["smile", "no_smile"])
    with pytest.raises(GrinlabError, match="unknown task 'smiles'"):
        load_image_folder(tmp_path / "root", task="smiles")
    with pytest.raises(GrinlabError, match="not both"):
        load_image_folder(tmp_path / "root", task="smile", classes=["a"])


def test_bgra_png_becomes_bgr(tmp_path):
    image = np.full((20, 30, 4), 200, np.uint8)
    (tmp_path / "x").mkdir()
    cv2.imwrite(str(tmp_path / "x" / "a.png"), image)
    ds = load_image_folder(tmp_path)
    assert ds.images[0].shape == (20, 30, 3)


def test_grey_is_the_shared_conversion_of_the_runtime_reader(tmp_path, photos_dir):
    """``grey=True`` is grinlab.colour.to_grey of what grinlab.io.images.read_image gives (the
    runtime's grey), for colour and grey files alike."""
    (tmp_path / "x").mkdir()
    shutil.copy(photos_dir / "astronaut.png", tmp_path / "x")
    shutil.copy(photos_dir / "white_house" / "biden.jpg", tmp_path / "x")
    shutil.copy(photos_dir / "solvay_1927" / "Solvay_conference_1927.jpg", tmp_path / "x")  # a grey jpg
    ds = load_image_folder(tmp_path, grey=True)
    assert len(ds) == 3
    for img, source in zip(ds.images, ds.sources, strict=True):
        assert np.array_equal(img, to_grey(read_image(source)))


def test_every_image_suffix_of_the_runtime_is_a_dataset_image(tmp_path, photos_dir):
    """The folder takes every suffix the runtime reads (grinlab.io.images.IMAGE_SUFFIXES)."""
    photo = cv2.imread(str(photos_dir / "astronaut.png"))
    (tmp_path / "x").mkdir()
    for suffix in IMAGE_SUFFIXES:
        image = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY) if suffix == ".pgm" else photo
        assert cv2.imwrite(str(tmp_path / "x" / f"a{suffix}"), image)
    ds = load_image_folder(tmp_path)
    assert sorted(Path(s).suffix for s in ds.sources) == sorted(IMAGE_SUFFIXES)
    assert all(
        img.ndim == (2 if s.endswith(".pgm") else 3) for img, s in zip(ds.images, ds.sources, strict=True)
    )
