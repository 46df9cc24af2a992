"""Image reading on real photos and on every kind of bad file a user can hand us."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grinlab.errors import GrinlabError
from grinlab.io.images import decode_image, header_size, read_image


@pytest.fixture(scope="module")
def astronaut(photos_dir):
    return cv2.imread(str(photos_dir / "astronaut.png"))


def test_reads_real_photos_as_bgr(photos_dir):
    for f in ["astronaut.png", "white_house/obama.jpg", "solvay_1927/Solvay_conference_1927.jpg"]:
        img = read_image(photos_dir / f)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_header_size_matches_decoded(photos_dir):
    for f in ["astronaut.png", "white_house/biden.jpg", "dlib_faces/2008_001009.jpg"]:
        data = (photos_dir / f).read_bytes()
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        assert header_size(data) == (img.shape[1], img.shape[0])


def test_sixteen_bit_rgba_grey_and_cmyk(tmp_path, astronaut):
    p16 = tmp_path / "a16.png"
    cv2.imwrite(str(p16), astronaut.astype(np.uint16) * 257)
    assert np.abs(read_image(p16).astype(int) - astronaut).max() <= 1
    prgba = tmp_path / "rgba.png"
    cv2.imwrite(str(prgba), cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA))
    assert read_image(prgba).shape == astronaut.shape
    pgrey = tmp_path / "grey.png"
    cv2.imwrite(str(pgrey), cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY))
    assert read_image(pgrey).shape == astronaut.shape


def test_cmyk_jpeg(tmp_path, astronaut):
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes the CMYK JPEG fixture")
    rgb = cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB)
    p = tmp_path / "cmyk.jpg"
    pil.fromarray(rgb).convert("CMYK").save(p, quality=95)
    img = read_image(p)
    assert img.shape == astronaut.shape
    assert np.abs(img.astype(int) - astronaut).mean() < 20


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("empty.jpg", b"", "empty file"),
        ("text.jpg", b"this is not an image\n" * 10, "not a readable image"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(GrinlabError, match=message) as e:
        read_image(p)
    assert str(p) in str(e.value)


def test_truncated_file(tmp_path, photos_dir):
    data = (photos_dir / "astronaut.png").read_bytes()
    p = tmp_path / "trunc.png"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(GrinlabError, match="not a readable image"):
        read_image(p)


def test_decompression_bomb_refused_before_decoding(tmp_path):
    # A valid PNG header claiming 100k x 100k pixels; nothing after it is ever decoded.
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    p = tmp_path / "bomb.png"
    p.write_bytes(png)
    with pytest.raises(GrinlabError, match="over the limit"):
        read_image(p)


def test_missing_and_folder(tmp_path):
    with pytest.raises(GrinlabError, match="not found"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(GrinlabError, match="not a file"):
        read_image(tmp_path)


def test_input_is_not_modified(tmp_path, photos_dir):
    p = tmp_path / "a.png"
    p.write_bytes((photos_dir / "astronaut.png").read_bytes())
    before = (p.stat().st_mtime_ns, p.read_bytes())
    read_image(p)
    assert (p.stat().st_mtime_ns, p.read_bytes()) == before


def test_reader_keeps_grey_on_request_and_follows_exif_orientation(tmp_path, astronaut):
    """Grey files stay grey when asked (datasets of grey crops); a phone photo's EXIF Orientation
    tag is followed by default (analyze, serve and the loaders see it upright, as viewers show it)."""
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes the EXIF fixture")
    grey = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    pgrey = tmp_path / "grey.png"
    cv2.imwrite(str(pgrey), grey)
    assert np.array_equal(read_image(pgrey, keep_grey=True), grey)
    assert np.array_equal(read_image(pgrey), cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    pcolour = tmp_path / "colour.png"
    cv2.imwrite(str(pcolour), astronaut)
    assert np.array_equal(read_image(pcolour, keep_grey=True), astronaut)  # colour stays BGR

    rotated = tmp_path / "rotated.jpg"  # Orientation 6: turn 90 degrees clockwise to display
    image = pil.fromarray(cv2.cvtColor(astronaut, cv2.COLOR_BGR2RGB))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(rotated, quality=95, exif=exif.tobytes())
    stored = read_image(rotated, exif_orientation=False)
    turned = read_image(rotated)
    assert stored.shape == astronaut.shape
    assert np.array_equal(turned, cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE))
    assert np.array_equal(decode_image(rotated.read_bytes(), "upload.jpg"), turned)  # the web upload path
