"""The Analyzer's running modes (IMAGE / VIDEO / STREAM), sessions over shared models, and misuse,
on real photos and a moving sequence of real faces."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from sequences import canvas, timestamp

import grinlab
from grinlab.errors import GrinlabError
from grinlab.pipeline import Analyzer, AnalyzerOptions, RunningMode


def yunet(yunet_path, **kw):
    return AnalyzerOptions(
        detector="yunet", detector_options={"model_path": str(yunet_path)}, models=("smile",), **kw
    )


def moving(genki_faces, i):
    """Two real faces drifting apart, 3 px a frame."""
    return canvas([(genki_faces["neutral"][0], 40 + 3 * i, 40), (genki_faces["smile"][0], 420 - 3 * i, 260)])


def test_image_mode_is_independent_images_without_tracks(yunet_path, photos_dir):
    img = cv2.imread(str(photos_dir / "dlib_faces" / "2008_002470.jpg"))
    with Analyzer(yunet(yunet_path)) as a:
        first, again = a.analyze(img), a.analyze(img)
    assert len(first.faces) >= 5 and first.to_dict() | {"timings_ms": 0} == again.to_dict() | {
        "timings_ms": 0
    }
    assert all(f.track_id is None for f in first.faces) and first.timestamp_ms is None


@pytest.mark.parametrize("detect_every", [1, 3])
def test_video_mode_tracks_and_smooths_real_faces(yunet_path, genki_faces, detect_every):
    with Analyzer(yunet(yunet_path, mode=RunningMode.VIDEO, detect_every=detect_every)) as a:
        results = [a.analyze_frame(moving(genki_faces, i), timestamp(i), frame_index=i) for i in range(20)]
    ids = [{f.track_id for f in r.faces} for r in results]
    assert all(len(r.faces) == 2 for r in results) and all(s == {1, 2} for s in ids)
    assert [r.timestamp_ms for r in results] == [timestamp(i) for i in range(20)]
    followed = [r.timings_ms["follow"] > 0 for r in results]
    assert sum(followed) == (0 if detect_every == 1 else 13)  # frames 1, 2, 4, 5, ... follow
    labels = {f.predictions["smile"].label for r in results for f in r.faces if f.box.x > 300}
    assert labels == {"smile"}


def test_stream_mode_delivers_to_the_callback_and_drops_what_it_cannot_keep_up_with(yunet_path, genki_faces):
    got, lock = [], threading.Lock()

    def on_result(result, image):
        time.sleep(0.03)  # a slow consumer: frames arriving meanwhile replace each other
        with lock:
            got.append((result.frame_index, result.timestamp_ms, len(result.faces), image.shape))

    frames = [moving(genki_faces, i) for i in range(30)]
    with Analyzer(yunet(yunet_path, mode=RunningMode.STREAM, result_callback=on_result)) as a:
        for i, img in enumerate(frames):
            a.analyze_async(img, timestamp(i), frame_index=i)  # returns at once
        submitted_all = time.perf_counter()
    # close() analysed the frame still waiting; every frame was either delivered or dropped
    assert time.perf_counter() >= submitted_all and len(got) + a.dropped_frames == 30
    assert a.dropped_frames > 0 and got[-1][0] == 29
    indices = [g[0] for g in got]
    assert indices == sorted(indices) and all(g[2] == 2 and g[3] == (480, 640, 3) for g in got)


def test_sessions_share_the_models_but_not_the_stream_state(yunet_path, genki_faces):
    with Analyzer(yunet(yunet_path)) as a:
        one, two = a.session(), a.session()
        for i in range(5):
            r1 = one.process(moving(genki_faces, i), timestamp(i))
        r2 = two.process(moving(genki_faces, 0), 0.0)  # its own clock and its own ids
        assert {f.track_id for f in r1.faces} == {f.track_id for f in r2.faces} == {1, 2}
        one.reset()
        one.process(moving(genki_faces, 0), 0.0)  # a reset session starts its clock again


def test_concurrent_threads_get_the_same_answers_as_one_thread(yunet_path, photos_dir):
    """Threads share the classifiers; each concurrent detection gets its own OpenCV detector."""
    names = ["2008_002470.jpg", "2009_004587.jpg", "2008_001322.jpg", "2008_002506.jpg"]
    images = [cv2.imread(str(photos_dir / "dlib_faces" / n)) for n in names]
    with Analyzer(yunet(yunet_path)) as a:
        expected = [
            [(f.box, f.predictions["smile"].probabilities) for f in a.analyze(im).faces] for im in images
        ]
        out = [[None] * len(images) for _ in range(4)]

        def work(t):
            for k, im in enumerate(images):
                out[t][k] = [(f.box, f.predictions["smile"].probabilities) for f in a.analyze(im).faces]

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(o == expected for o in out)


def test_misuse_gives_one_clear_error(yunet_path, photos_dir):
    img = cv2.imread(str(photos_dir / "astronaut.png"))
    with Analyzer(yunet(yunet_path, mode=RunningMode.VIDEO)) as video:
        video.analyze_frame(img, 0.0)
        video.analyze_frame(img, 40.0)
        for bad in (40.0, 10.0, float("nan")):
            with pytest.raises(GrinlabError, match="timestamp"):
                video.analyze_frame(img, bad)
        video.analyze_frame(img, 80.0)  # a refused frame does not break the stream
        with pytest.raises(
            GrinlabError, match=r"VIDEO mode: call analyze_frame.*mode=IMAGE for analyze\(image\)"
        ):
            video.analyze(img)
        with pytest.raises(GrinlabError, match="VIDEO mode"):
            video.analyze_async(img, 120.0)
    with Analyzer(yunet(yunet_path)) as image_mode, pytest.raises(GrinlabError, match="IMAGE mode"):
        image_mode.analyze_frame(img, 0.0)
    for call in (lambda: image_mode.analyze(img), lambda: image_mode.session()):
        with pytest.raises(GrinlabError, match="closed"):
            call()
    with pytest.raises(GrinlabError, match="result_callback"):
        AnalyzerOptions(mode="stream")
    with pytest.raises(GrinlabError, match="result_callback"):
        AnalyzerOptions(result_callback=print)
    with pytest.raises(GrinlabError, match="mode must be one of"):
        AnalyzerOptions(mode="live")
    with pytest.raises(GrinlabError, match="detect_every"):
        AnalyzerOptions(detect_every=0)
    calls = []
    with Analyzer(yunet(yunet_path, mode="stream", result_callback=lambda r, i: calls.append(r))) as stream:
        stream.analyze_async(img, 5.0)
        with pytest.raises(GrinlabError, match="timestamps must increase"):  # raised in the caller
            stream.analyze_async(img, 5.0)
        with pytest.raises(GrinlabError, match="uint8"):
            stream.analyze_async(np.zeros((4, 4), np.float32), 9.0)
    assert len(calls) == 1


def test_the_public_api_docstring_example_runs(photos_dir, yunet_path, monkeypatch):
    """The example in grinlab/__init__.py, run as written on a real photo."""
    import doctest

    monkeypatch.chdir(photos_dir / "white_house")
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(yunet_path))
    for name in ("Analyzer", "AnalyzerOptions", "FrameResult", "FaceResult", "RunningMode"):
        assert name in grinlab.__all__ and getattr(grinlab, name) is not None
    finder = doctest.DocTestFinder(exclude_empty=True)
    (test,) = [t for t in finder.find(grinlab, "grinlab") if t.name == "grinlab"]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0 and test.examples


def _rows(pairs):
    return [(fr.frame_index, None if r is None else {**r.to_dict(), "timings_ms": None}) for fr, r in pairs]


def test_reading_ahead_gives_the_same_results_and_stops_cleanly(yunet_path, photos_dir, genki_faces):
    """batch.analyzed_frames: decoding and detecting on a second thread changes nothing but speed;
    an exception in the reader reaches the caller; closing early ends the reader thread."""
    from grinlab.batch import analyzed_frames
    from grinlab.io.sources import Frame

    names = ["2008_002470.jpg", "2009_004587.jpg", "2008_001322.jpg"]
    stills = [Frame(n, 0, cv2.imread(str(photos_dir / "dlib_faces" / n))) for n in names]
    stills.insert(1, Frame("bad.jpg", 0, None, error="bad.jpg: not an image"))
    video = [Frame("v", i, moving(genki_faces, i), timestamp(i)) for i in range(12)]
    with Analyzer(yunet(yunet_path)) as a:
        for frames, kind in ((stills, "image"), (video, "video")):
            ahead = _rows(analyzed_frames(a, iter(frames), kind, ahead=True))
            assert ahead == _rows(analyzed_frames(a, iter(frames), kind, ahead=False))
        assert ahead[-1][1]["faces"][0]["track_id"] in (1, 2) and [i for i, _ in ahead] == list(range(12))

        def broken():
            yield video[0]
            raise OSError("disk gone")

        with pytest.raises(OSError, match="disk gone"):
            list(analyzed_frames(a, broken(), "video"))
        before = threading.active_count()
        gen = analyzed_frames(a, iter(video), "video")
        next(gen)
        gen.close()
        assert threading.active_count() == before
