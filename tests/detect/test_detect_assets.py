"""Model files: the cache, the env override, `grinlab download` (never the real network)."""

from __future__ import annotations

import dataclasses
import socket

import pytest

from grinlab import assets
from grinlab.cli import main
from grinlab.detect import create_detector
from grinlab.detect.yunet import YuNetDetector
from grinlab.errors import GrinlabError

YUNET = assets.ASSETS["yunet"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty GRINLAB_HOME and no env override."""
    monkeypatch.setenv("GRINLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRINLAB_YUNET_MODEL", raising=False)
    return tmp_path / "home"


@pytest.fixture
def junk(tmp_path):
    path = tmp_path / "face_detection_yunet_2023mar.onnx"
    path.write_bytes(b"an html error page, not a model")
    return path


def point_url_at(monkeypatch, url: str) -> None:
    monkeypatch.setitem(assets.ASSETS, "yunet", dataclasses.replace(YUNET, url=url))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_table_matches_the_shared_copy(yunet_path):
    assert yunet_path.stat().st_size == YUNET.size
    assert assets.sha256_of(yunet_path) == YUNET.sha256


def test_empty_cache_means_no_model(home):
    assert assets.asset_path("yunet") is None
    assert assets.cache_dir() == home / "models"


def test_download_from_a_local_copy_fills_the_cache(home, yunet_path, capsys):
    assert main(["download", "yunet", "--from", str(yunet_path)]) == 0
    cached = home / "models" / YUNET.filename
    assert cached.is_file() and "sha256 verified" in capsys.readouterr().out
    assert assets.asset_path("yunet") == cached
    assert isinstance(create_detector("auto"), YuNetDetector)
    assert main(["download", "yunet", "--from", str(yunet_path), "--force"]) == 0
    assert sorted(p.name for p in cached.parent.iterdir()) == [YUNET.filename]  # no temp files left


def test_a_file_with_the_wrong_sha256_is_refused(home, junk, capsys):
    assert main(["download", "yunet", "--from", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "sha256" in err and str(junk) in err and err.count("\n") == 1
    assert assets.asset_path("yunet") is None and not (home / "models" / YUNET.filename).exists()


def test_a_missing_local_file_is_named(home, tmp_path, capsys):
    assert main(["download", "yunet", "--from", str(tmp_path / "nope.onnx")]) == 2
    assert "nope.onnx: file not found" in capsys.readouterr().err


def test_unreachable_url_says_what_to_do(home, monkeypatch, capsys):
    url = f"http://127.0.0.1:{closed_port()}/face_detection_yunet_2023mar.onnx"
    point_url_at(monkeypatch, url)
    with pytest.raises(GrinlabError) as err:
        assets.download("yunet", timeout=5)
    assert url in str(err.value) and "grinlab download yunet --from FILE" in str(err.value)
    assert list((home / "models").iterdir()) == []  # the partial file is gone
    assert main(["download", "yunet"]) == 2
    assert "cannot download" in capsys.readouterr().err


def test_download_checks_the_sha256(home, monkeypatch, junk, yunet_path):
    point_url_at(monkeypatch, junk.as_uri())  # a file:// URL stands in for the server
    with pytest.raises(GrinlabError, match="sha256"):
        assets.download("yunet")
    assert list((home / "models").iterdir()) == []
    point_url_at(monkeypatch, yunet_path.as_uri())
    assert assets.download("yunet") == home / "models" / YUNET.filename
    assert assets.asset_path("yunet") == home / "models" / YUNET.filename


def test_download_to_another_folder(home, monkeypatch, tmp_path, yunet_path):
    point_url_at(monkeypatch, yunet_path.as_uri())
    dest = tmp_path / "elsewhere"
    dest.mkdir()
    assert assets.download("yunet", dest=dest) == dest / YUNET.filename
    assert assets.asset_path("yunet") is None  # the cache is untouched


def test_env_override(home, monkeypatch, yunet_path, junk):
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(yunet_path))
    assert assets.asset_path("yunet") == yunet_path
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(junk))
    with pytest.raises(GrinlabError, match="sha256 does not match"):
        assets.asset_path("yunet")
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(junk.parent / "missing.onnx"))
    with pytest.raises(GrinlabError, match="GRINLAB_YUNET_MODEL=.*missing.onnx: file not found"):
        assets.asset_path("yunet")


def test_a_corrupt_cached_file_counts_as_missing(home, junk):
    (home / "models").mkdir(parents=True)
    (home / "models" / YUNET.filename).write_bytes(junk.read_bytes())
    assert assets.asset_path("yunet") is None


def test_list_and_unknown_name(home, capsys):
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    assert "yunet" in out and YUNET.sha256 in out and "not installed" in out
    assert main(["download", "retinaface"]) == 2
    assert "unknown download 'retinaface'" in capsys.readouterr().err
