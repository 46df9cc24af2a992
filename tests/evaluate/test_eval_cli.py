"""grinlab evaluate / visualize through grinlab.cli.main on tiny image folders of real
SMILEsmileD faces (and whole photos for --pipeline)."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from grinlab.cli import main
from grinlab.errors import GrinlabError
from grinlab.shipped import resolve_model

SOURCES = {"smile": "positives/positives7", "no_smile": "negatives/negatives7"}


def _image_folder(root, smilesmiled_dir, classes=("smile", "no_smile"), n=12):
    for c in classes:
        (root / c).mkdir(parents=True)
        for p in sorted((smilesmiled_dir / "SMILEs" / SOURCES.get(c, SOURCES["no_smile"])).glob("*.jpg"))[:n]:
            shutil.copy(p, root / c / p.name)
    return root


@pytest.fixture(scope="module")
def faces(smilesmiled_dir, tmp_path_factory):
    return _image_folder(tmp_path_factory.mktemp("data") / "faces", smilesmiled_dir)


@pytest.fixture(scope="module")
def run_dir(faces, tmp_path_factory):
    """A real (barely trained) run folder of `grinlab train`."""
    run = tmp_path_factory.mktemp("runs") / "tiny"
    code = main(["train", "--data", str(faces), "--task", "smile", "--model", "simple_cnn", "--epochs", "1",
                 "--max-train-batches", "1", "--no-eval", "--out", str(run)])  # fmt: skip
    assert code == 0
    return run


def _evaluate(capsys, *argv) -> tuple[int, dict | str]:
    code = main(["evaluate", *argv])
    cap = capsys.readouterr()
    return code, (json.loads(cap.out) if code == 0 else cap.err)


def test_evaluate_onnx_file_writes_report_and_json(faces, tmp_path, capsys):
    model = tmp_path / "m" / "smile.onnx"
    model.parent.mkdir()
    shutil.copy(resolve_model("smile"), model)
    shutil.copy(resolve_model("smile").with_suffix(".json"), model.with_suffix(".json"))
    out = tmp_path / "r"
    code, s = _evaluate(
        capsys, "--model", str(model), "--data", str(faces), "--split", "all", "--out", str(out)
    )
    assert code == 0
    assert s["n"] == 24 and set(s["recall"]) == {"no_smile", "smile"} and s["faces_not_found"] == 0
    assert 0 <= s["accuracy"] <= 1 and "macro_f1" in s and "flip_tta_accuracy" in s
    saved = json.loads((out / "summary.json").read_text())
    assert saved["accuracy"] == s["accuracy"] and set(saved["occlusion"]["accuracy"]) >= {"eyes", "mouth"}
    assert (out / "report.md").is_file()
    # refuses to overwrite, then overwrites with --force and honours the switches
    code, err = _evaluate(
        capsys, "--model", str(model), "--data", str(faces), "--split", "all", "--out", str(out)
    )
    assert code == 2 and "--force" in err and err.count("\n") == 1
    code, s = _evaluate(capsys, "--model", "smile", "--data", str(faces), "--split", "all", "--out", str(out),
                        "--force", "--no-tta", "--no-occlusion", "--no-mistakes")  # fmt: skip
    assert code == 0 and "flip_tta_accuracy" not in s
    saved = json.loads((out / "summary.json").read_text())
    assert "occlusion" not in saved and not (out / "mistakes").exists()


def test_evaluate_misuse(faces, smilesmiled_dir, tmp_path, capsys):
    out = str(tmp_path / "r")
    grin = _image_folder(tmp_path / "grin", smilesmiled_dir, classes=("smile", "grin"), n=2)
    code, err = _evaluate(capsys, "--model", "smile", "--data", str(grin), "--split", "all", "--out", out)
    assert code == 2 and "grin" in err and "no_smile, smile" in err and err.count("\n") == 1
    code, err = _evaluate(
        capsys, "--model", str(tmp_path / "absent.onnx"), "--data", str(faces), "--out", out
    )
    assert code == 2 and "absent.onnx: model file not found" in err
    code, err = _evaluate(capsys, "--model", "smile", "--data", str(faces))
    assert code == 2 and "--out" in err
    lone = tmp_path / "lone.onnx"
    shutil.copy(resolve_model("smile"), lone)
    code, err = _evaluate(capsys, "--model", str(lone), "--data", str(faces), "--split", "all", "--out", out)
    assert code == 2 and "lone.json: model card not found" in err
    code, err = _evaluate(capsys, "--model", "smile", "--data", str(faces), "--split", "test", "--out", out)
    assert code == 2 and "no 'test' split" in err


def test_evaluate_run_checkpoint(run_dir, faces, capsys):
    code, s = _evaluate(capsys, "--run", str(run_dir), "--no-occlusion")
    assert code == 0 and s["split"] == "val" and s["n"] > 0
    assert (run_dir / "evaluate_val" / "summary.json").is_file()
    code, s = _evaluate(capsys, "--run", str(run_dir), "--data", str(faces), "--split", "all", "--no-occlusion",
                        "--no-tta", "--out", str(run_dir / "evaluate_all"))  # fmt: skip
    assert code == 0 and s["n"] == 24


def test_evaluate_pipeline_on_whole_photos(photos_dir, tmp_path, capsys):
    root = tmp_path / "photos"
    (root / "smile").mkdir(parents=True)
    (root / "no_smile").mkdir()
    shutil.copy(photos_dir / "white_house" / "obama.jpg", root / "smile")
    shutil.copy(photos_dir / "astronaut.png", root / "smile")
    shutil.copy(photos_dir / "white_house" / "biden.jpg", root / "no_smile")
    cv2.imwrite(str(root / "no_smile" / "blank.png"), np.full((200, 200, 3), 128, np.uint8))
    code, s = _evaluate(capsys, "--model", "smile", "--data", str(root), "--split", "all", "--pipeline",
                        "--detector", "haar", "--out", str(tmp_path / "r"), "--no-occlusion")  # fmt: skip
    assert code == 0
    assert s["n"] == 3 and s["faces_not_found"] == 1 and s["accuracy"] == 1.0


def test_pipeline_detects_in_the_whole_photo_of_a_cropping_loader(genki_dir, tmp_path):
    """GENKI-4K's loader already crops faces; --pipeline must start again from the photo on disk
    (as the runtime does), not detect a face inside that crop."""
    from grinlab.align import crop_face
    from grinlab.data import load_genki4k
    from grinlab.detect import create_detector
    from grinlab.evaluate.onnx_eval import crop_with_pipeline
    from grinlab.io.images import read_image

    root = tmp_path / "genki"
    (root / "files").mkdir(parents=True)
    real = (genki_dir / "labels.txt").read_text().splitlines()
    for n in (1, 2, 4):  # real file0003 is held out
        shutil.copy(genki_dir / "files" / f"file{n:04d}.jpg", root / "files" / f"file{n:04d}.jpg")
    (root / "labels.txt").write_text("\n".join(real[:4]) + "\n")
    ds = load_genki4k(root, detector="haar", crop_size=96, cache=False)
    assert len(ds) == 3 and {img.shape[:2] for img in ds.images} == {(96, 96)}

    cropped, not_found = crop_with_pipeline(ds, "haar")
    haar = create_detector("haar")
    assert not_found == 0 and cropped.sources == ds.sources
    for crop, source in zip(cropped.images, cropped.sources, strict=True):
        photo = read_image(source, keep_grey=True, exif_orientation=True)  # as the loaders read it
        expected = crop_face(photo, max(haar.detect(photo), key=lambda b: b.area))
        assert crop.shape == expected.shape and np.array_equal(crop, expected)
        assert crop.shape[0] > 96  # cut from the full-size photo, not from the loader's 96 px crop


def test_visualize(run_dir, smilesmiled_dir, tmp_path, capsys):
    face = next((smilesmiled_dir / "SMILEs" / "positives" / "positives7").glob("*.jpg"))
    assert main(["visualize", str(run_dir), "--image", str(face), "--out", str(tmp_path / "viz")]) == 0
    names = {p.name for p in (tmp_path / "viz").iterdir()}
    assert {"filters.png", "input.png"} <= names and sum(n.startswith("stage") for n in names) == 3
    filters = cv2.imread(str(tmp_path / "viz" / "filters.png"), cv2.IMREAD_GRAYSCALE)
    assert filters is not None and filters.std() > 0
    capsys.readouterr()
    assert (
        main(["visualize", str(run_dir), "--image", str(tmp_path / "nope.jpg"), "--out", str(tmp_path)]) == 2
    )
    assert "nope.jpg" in capsys.readouterr().err


def test_match_classes_reorders_or_names_the_unknown_class(faces):
    from grinlab.data import load_dataset
    from grinlab.evaluate.onnx_eval import match_classes

    ds = load_dataset(faces, task=None)  # folder names as classes, in folder order
    model_order = tuple(reversed(ds.classes))
    matched = match_classes(ds, model_order, "m")
    assert matched.classes == model_order
    assert [model_order[i] for i in matched.labels] == [ds.classes[i] for i in ds.labels]
    ds.soft_labels = np.eye(len(ds.classes), dtype=np.float32)[ds.labels]  # e.g. FER+ votes
    soft = match_classes(ds, model_order, "m").soft_labels
    assert soft is not None and (soft.argmax(1) == matched.labels).all()
    with pytest.raises(GrinlabError, match=r"class\(es\) (no_smile|smile) that model m does not know"):
        match_classes(ds, ("happy", ds.classes[0]), "m")


def test_whole_photos_as_crops_get_a_pipeline_hint_and_an_empty_split_a_split_hint(
    tmp_path, photos_dir, capsys
):
    from grinlab.cli import main

    whole = tmp_path / "whole"
    for label, files in (
        ("smile", ["2008_002470.jpg", "2008_001322.jpg"]),
        ("no_smile", ["2007_007763.jpg", "2009_004587.jpg"]),
    ):
        (whole / label).mkdir(parents=True)
        for f in files:
            shutil.copy(photos_dir / "dlib_faces" / f, whole / label / f)
    args = ["evaluate", "--model", "smile", "--data", str(whole), "--detector", "haar"]
    assert main([*args, "--split", "all", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    assert "look like whole photos" in err and "pass --pipeline" in err
    assert main([*args, "--split", "all", "--out", str(tmp_path / "b"), "--pipeline"]) == 0
    assert "look like whole photos" not in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "c")]) == 2  # 4 photos: the val split is empty
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no images to evaluate in the 'val' split; pass --split all" in err[0]
