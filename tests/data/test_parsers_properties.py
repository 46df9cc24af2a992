"""Property tests of the dataset readers (hypothesis, bounded for CI; fuzz/fuzz_fer_csv.py runs
the FER2013 parser on 100,000s of inputs): whatever a FER2013 csv, a FER+ votes file or an image
folder holds, loading gives a dataset or a GrinlabError naming the file, never another exception."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grinlab.data.fer2013 import FERPLUS_HEADER, HEADER, USAGES, load_fer2013
from grinlab.data.folder import load_image_folder
from grinlab.errors import GrinlabError

BOUNDED = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
GOOD_PIXELS = " ".join(["128"] * 2304)


def loads_or_refuses(load) -> None:
    try:
        ds = load()
    except GrinlabError as exc:
        assert str(exc)
        return
    assert len(ds.images) == len(ds.labels)
    assert all(img.dtype == np.uint8 for img in ds.images)


field = st.one_of(
    st.sampled_from(
        ["0", "3", "6", "7", "-1", "x", "", GOOD_PIXELS, GOOD_PIXELS + " 1", *USAGES, '"Training"']
    ),
    st.text(alphabet='0123456789 ,"\r\t-', max_size=40),
    st.text(max_size=20),
)
row = st.lists(field, min_size=0, max_size=4).map(",".join)


@BOUNDED
@given(
    rows=st.lists(row, max_size=6), header=st.sampled_from([HEADER, "emotion,pixels", "", "\ufeff" + HEADER])
)
def test_fer2013_csv_loads_or_refuses(tmp_path_factory, rows, header):
    path = tmp_path_factory.mktemp("fer") / "fer2013.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8", errors="surrogatepass")
    loads_or_refuses(lambda: load_fer2013(path, cache=False))


@BOUNDED
@given(raw=st.binary(max_size=600))
def test_fer2013_csv_of_any_bytes_loads_or_refuses(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fer") / "fer2013.csv"
    path.write_bytes(HEADER.encode() + b"\n" + raw)
    loads_or_refuses(lambda: load_fer2013(path, cache=False))


@BOUNDED
@given(votes=st.lists(st.lists(st.one_of(st.integers(-5, 20).map(str), st.text(max_size=4)), max_size=12), max_size=3),
       header=st.sampled_from([",".join(FERPLUS_HEADER), "Usage,Image name", ""]))  # fmt: skip
def test_ferplus_votes_load_or_refuse(tmp_path_factory, votes, header):
    root = tmp_path_factory.mktemp("ferplus")
    csv_path = root / "fer2013.csv"
    csv_path.write_text(
        "\n".join([HEADER, f"3,{GOOD_PIXELS},Training", f"6,{GOOD_PIXELS},PublicTest"]) + "\n"
    )
    plus = root / "fer2013new.csv"
    plus.write_text("\n".join([header, *(",".join(v) for v in votes)]) + "\n")
    for mode in ("majority", "soft"):
        loads_or_refuses(lambda m=mode: load_fer2013(csv_path, ferplus=plus, label_mode=m, cache=False))


@BOUNDED
@given(tree=st.lists(st.tuples(st.sampled_from(["happy", "neutral", "Happy", "sad", "x", "train/happy",
                                                 "val/neutral", ".hidden"]),
                               st.sampled_from(["a.jpg", "b.png", "c.txt", ".d.jpg", "e.JPG"]),
                               st.sampled_from(["image", "empty", "junk", "truncated"])), max_size=6))  # fmt: skip
def test_image_folders_load_or_refuse(tmp_path_factory, tree):
    root = tmp_path_factory.mktemp("folder")
    ok, jpg = cv2.imencode(".jpg", np.full((32, 32, 3), 90, np.uint8))
    content = {"image": jpg.tobytes(), "empty": b"", "junk": b"not an image", "truncated": jpg.tobytes()[:60]}
    for folder, name, kind in tree:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_bytes(content[kind])
    for kw in ({}, {"task": "happy_neutral"}, {"skip_unreadable": True}, {"task": "emotion7", "grey": True}):
        loads_or_refuses(lambda kw=kw: load_image_folder(root, **kw))
