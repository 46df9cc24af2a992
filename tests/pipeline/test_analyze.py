"""grinlab analyze end to end on real photos and a video made of them, with bad inputs mixed in."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from grinlab.cli import main
from grinlab.errors import GrinlabError
from grinlab.pipeline import Analyzer, AnalyzerOptions, RunningMode
from grinlab.results import FrameResult


@pytest.fixture(scope="module")
def analyzer():
    with Analyzer(detector="haar", models=("smile",)) as a:
        yield a


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_face_with_typed_results(analyzer, photos_dir):
    img = cv2.imread(str(photos_dir / "dlib_faces" / "2008_002470.jpg"))
    r = analyzer.analyze(img, source="x")
    assert isinstance(r, FrameResult) and len(r.faces) >= 5  # 6 annotated faces
    for i, f in enumerate(r.faces):
        assert f.index == i
        p = f.predictions["smile"]
        assert p.label in ("smile", "no_smile") and abs(sum(p.probabilities.values()) - 1) < 1e-4
        assert 0 <= f.smile_intensity <= 1
    assert set(r.timings_ms) == {"detect", "align", "classify", "total"}
    json.dumps(r.to_dict())  # JSON-ready without custom code


def test_smiling_and_non_smiling_portraits(analyzer, photos_dir):
    smiling = analyzer.analyze(cv2.imread(str(photos_dir / "white_house" / "obama.jpg"))).faces
    neutral = analyzer.analyze(cv2.imread(str(photos_dir / "white_house" / "biden.jpg"))).faces
    assert len(smiling) == 1 and len(neutral) == 1
    assert smiling[0].smile_intensity > 0.5 > neutral[0].smile_intensity


def test_modes_are_enforced(photos_dir):
    img = cv2.imread(str(photos_dir / "astronaut.png"))
    with Analyzer(AnalyzerOptions(detector="haar", mode=RunningMode.VIDEO)) as video:
        video.analyze_frame(img, 0.0)
        video.analyze_frame(img, 40.0)
        with pytest.raises(GrinlabError, match="timestamps must increase"):
            video.analyze_frame(img, 40.0)
        with pytest.raises(GrinlabError, match="VIDEO mode"):
            video.analyze(img)
    with Analyzer(detector="haar") as image_mode, pytest.raises(GrinlabError, match="IMAGE mode"):
        image_mode.analyze_frame(img, 0.0)
    with pytest.raises(GrinlabError, match="closed"):
        image_mode.analyze(img)


def test_unknown_model_and_bad_image():
    with pytest.raises(GrinlabError, match="unknown model"):
        Analyzer(detector="haar", models=("joy",))
    with Analyzer(detector="haar") as a, pytest.raises(GrinlabError, match="uint8"):
        a.analyze(np.zeros((10, 10), np.float32))


@pytest.fixture
def mixed_folder(tmp_path, photos_dir):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    shutil.copy(photos_dir / "astronaut.png", d / "astronaut.png")
    shutil.copy(photos_dir / "dlib_faces" / "2008_002470.jpg", d / "sub" / "group.jpg")
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.png").write_text("not an image")
    data = (photos_dir / "white_house" / "obama.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(data[:2000])
    return d


def test_folder_with_bad_files_goes_on(mixed_folder, tmp_path, capsys):
    before = {p: p.read_bytes() for p in mixed_folder.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    code = main(["analyze", str(mixed_folder), "--out", str(out), "--detector", "haar", "--csv"])
    assert code == 1  # some items failed
    err = capsys.readouterr().err
    assert "empty.jpg" in err and "notes.png" in err
    rows = read_rows(out / "results.jsonl")
    by_source = {r["source"].split("/in/")[-1]: r for r in rows}
    assert len(by_source["astronaut.png"]["faces"]) == 1
    assert len(by_source["sub/group.jpg"]["faces"]) >= 5
    assert "empty file" in by_source["empty.jpg"]["error"]
    assert "not a readable image" in by_source["notes.png"]["error"]
    assert "truncated.jpg" in by_source  # decoded partially or reported: either way, a row
    assert (out / "annotated" / "in" / "sub" / "group.jpg").is_file()
    with open(out / "results.csv") as f:
        csv_rows = list(csv.DictReader(f))
    group_faces = by_source["sub/group.jpg"]["faces"]  # one CSV row per face and model
    assert sum(1 for r in csv_rows if r["source"].endswith("group.jpg")) == sum(
        len(f["predictions"]) for f in group_faces
    )
    after = {p: p.read_bytes() for p in mixed_folder.rglob("*") if p.is_file()}
    assert after == before  # inputs untouched


def test_existing_results_need_resume_or_force(mixed_folder, tmp_path, capsys):
    out = tmp_path / "out"
    good = mixed_folder / "astronaut.png"
    assert main(["analyze", str(good), "--out", str(out), "--detector", "haar"]) == 0
    before = (out / "results.jsonl").read_text()
    assert main(["analyze", str(good), "--out", str(out), "--detector", "haar"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == before
    assert main(["analyze", str(good), "--out", str(out), "--detector", "haar", "--force"]) == 0


def test_a_file_given_twice_is_analysed_once(mixed_folder, tmp_path):
    out = tmp_path / "out"
    good = mixed_folder / "astronaut.png"
    sub = mixed_folder / "sub"
    # the same photo twice, and a folder together with a photo inside it
    args = [str(good), str(good), str(sub), str(sub / "group.jpg")]
    assert main(["analyze", *args, "--out", str(out), "--detector", "haar"]) == 0
    assert [r["source"] for r in read_rows(out / "results.jsonl")] == [str(good), str(sub / "group.jpg")]


def test_resume_skips_done_and_drops_partial_rows(mixed_folder, tmp_path):
    out = tmp_path / "out"
    good = [str(mixed_folder / "astronaut.png"), str(mixed_folder / "sub" / "group.jpg")]
    assert main(["analyze", good[0], "--out", str(out), "--detector", "haar"]) == 0
    # simulate a run killed while writing group.jpg: its row is there, but it is not in done.txt
    with open(out / "results.jsonl", "a") as f:
        f.write(json.dumps({"source": good[1], "frame_index": 0, "faces": []}) + "\n" + '{"source": "tor')
    assert main(["analyze", *good, "--out", str(out), "--detector", "haar", "--resume"]) == 0
    rows = read_rows(out / "results.jsonl")
    assert [r["source"] for r in rows] == good
    assert len(rows[1]["faces"]) >= 5
    assert (out / "done.txt").read_text().splitlines() == good


def test_crops_mode_treats_each_image_as_one_face(smilesmiled_dir, tmp_path):
    files = sorted((smilesmiled_dir / "SMILEs" / "positives" / "positives7").glob("*.jpg"))[:5]
    out = tmp_path / "out"
    assert main(["analyze", *map(str, files), "--out", str(out), "--crops", "--no-annotate"]) == 0
    rows = read_rows(out / "results.jsonl")
    assert all(len(r["faces"]) == 1 and r["faces"][0]["box"]["x"] == 0 for r in rows)
    assert not (out / "annotated").exists()


def make_video(path, photos_dir, frames=30, fps=10):
    """A 640x480 clip of real photos sliding across the frame."""
    a = cv2.resize(cv2.imread(str(photos_dir / "astronaut.png")), (300, 300))
    b = cv2.resize(cv2.imread(str(photos_dir / "white_house" / "biden.jpg"))[100:700, 290:890], (300, 340))
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (640, 480))
    for i in range(frames):
        frame = np.full((480, 640, 3), 90, np.uint8)
        frame[60:360, 10 + i : 310 + i] = a
        frame[100:440, 320:620] = b
        w.write(frame)
    w.release()


def test_video_rows_timestamps_and_annotated_output(tmp_path, photos_dir):
    video = tmp_path / "clip.avi"
    make_video(video, photos_dir)
    out = tmp_path / "out"
    assert (
        main(["analyze", str(video), "--out", str(out), "--detector", "haar", "--every", "2", "--csv"]) == 0
    )
    rows = read_rows(out / "results.jsonl")
    assert [r["frame_index"] for r in rows] == list(range(0, 30, 2))
    assert [r["timestamp_ms"] for r in rows] == pytest.approx([i * 100.0 for i in range(0, 30, 2)])
    assert all(len(r["faces"]) >= 2 for r in rows)  # both people in every frame (Haar adds a rare extra box)
    annotated = cv2.VideoCapture(str(out / "annotated" / "clip.mp4"))
    assert int(annotated.get(cv2.CAP_PROP_FRAME_COUNT)) == 15
    annotated.release()
    assert (out / "timeline" / "clip.png").is_file()


def test_broken_video_is_an_error_row(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    out = tmp_path / "out"
    assert main(["analyze", str(bad), "--out", str(out), "--detector", "haar"]) == 1
    (row,) = read_rows(out / "results.jsonl")
    assert "cannot open this video" in row["error"]


def test_empty_folder_and_missing_path(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert main(["analyze", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no images or videos found" in err[0] and "no such file" in err[1]


def test_demo_runs_on_bundled_photos(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--detector", "haar"]) == 0
    out = capsys.readouterr().out
    assert "astronaut.jpg: 1 face(s), 1 smiling" in out
    assert (tmp_path / "demo" / "annotated" / "solvay_1927.jpg").is_file()


def test_analyze_works_without_torch(tmp_path, photos_dir):
    """Block torch at import: the inference path must never need it."""
    code = f"""
import sys
class Block:
    def find_spec(self, name, *a):
        if name == 'torch' or name.startswith('torch.'):
            raise ImportError('torch is blocked in this test')
sys.meta_path.insert(0, Block())
from grinlab.cli import main
rc = main(['analyze', {str(photos_dir / "astronaut.png")!r}, '--out', {str(tmp_path / "o")!r}, '--detector', 'haar'])
assert 'torch' not in sys.modules
sys.exit(rc)
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "1 face(s)" in res.stdout


def test_detect_width_option_reaches_the_detector(tmp_path, photos_dir, yunet_path, capsys):
    """--detect-width: the Solvay group photo (29 people) loses small faces at 320 px but not at 800."""
    found = {}
    for width in (800, 320):
        out = tmp_path / str(width)
        args = ["analyze", str(photos_dir / "solvay_1927"), "--out", str(out), "--detector", "yunet"]
        args += ["--yunet-model", str(yunet_path), "--detect-width", str(width), "--no-annotate"]
        assert main(args) == 0
        row = json.loads((out / "results.jsonl").read_text().splitlines()[0])
        found[width] = len(row["faces"])
    assert found[800] >= 28
    assert found[320] < found[800]
    assert (
        main(
            [
                "analyze",
                str(photos_dir / "astronaut.png"),
                "--out",
                str(tmp_path / "x"),
                "--detect-width",
                "10",
            ]
        )
        == 2
    )
    assert "detect_width must be at least 64" in capsys.readouterr().err


def test_analyze_prints_each_face_the_detector_and_what_yunet_would_change(tmp_path, photos_dir, capsys):
    photo = str(photos_dir / "white_house" / "obama.jpg")
    assert main(["analyze", photo, "--out", str(tmp_path / "o"), "--detector", "haar"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("detector haar; models smile, valence, emotion7")
    assert "obama.jpg: 1 face(s), 1 smiling" in out
    header, row = [line.split() for line in out.splitlines()[2:4]]
    assert header == ["face", "box", "smile", "valence", "emotion7", "intensity"]
    assert row[0] == "#0" and row[3:5] == ["smile", row[4]] and row[7] == "happy"
    assert "grinlab download yunet" in out  # Haar ran: say what YuNet would change
    video = tmp_path / "clip.avi"
    make_video(video, photos_dir, frames=6)
    assert main(["analyze", str(video), "--out", str(tmp_path / "v"), "--detector", "haar"]) == 0
    assert "clip.avi: 6 frame(s) analysed at" in capsys.readouterr().out
