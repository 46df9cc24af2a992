"""The explicit model download step: sha256-checked installs, clear offline errors, no network."""

from __future__ import annotations

import socket

import pytest

from grinlab import assets
from grinlab.cli import main
from grinlab.errors import GrinlabError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GRINLAB_HOME", str(tmp_path))
    monkeypatch.delenv("GRINLAB_YUNET_MODEL", raising=False)
    return tmp_path


def test_install_from_local_copy(home, yunet_path, capsys):
    assert assets.asset_path("yunet") is None
    assert main(["download", "yunet", "--from", str(yunet_path)]) == 0
    assert "sha256 verified" in capsys.readouterr().out
    installed = assets.asset_path("yunet")
    assert installed == home / "models" / "face_detection_yunet_2023mar.onnx"
    assert installed.read_bytes() == yunet_path.read_bytes()


def test_wrong_file_is_refused(home, tmp_path, capsys):
    bad = tmp_path / "fake.onnx"
    bad.write_bytes(b"not yunet")
    assert main(["download", "yunet", "--from", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "does not match" in err and err.count("\n") == 1
    assert assets.asset_path("yunet") is None


def test_unreachable_url_gives_clear_error(home, monkeypatch):
    with socket.socket() as s:  # a localhost port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    asset = assets.ASSETS["yunet"]
    monkeypatch.setitem(
        assets.ASSETS, "yunet", assets.Asset(**{**asset.__dict__, "url": f"http://127.0.0.1:{port}/y.onnx"})
    )
    with pytest.raises(GrinlabError, match="--from FILE"):
        assets.download("yunet", timeout=2)
    assert not list((home / "models").glob("*"))  # no partial file left behind


def test_env_override_is_verified(home, monkeypatch, tmp_path, yunet_path):
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(yunet_path))
    assert assets.asset_path("yunet") == yunet_path
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"x")
    monkeypatch.setenv("GRINLAB_YUNET_MODEL", str(bad))
    with pytest.raises(GrinlabError, match="sha256"):
        assets.asset_path("yunet")


def test_list(home, capsys):
    assert main(["download", "--list"]) == 0
    assert "yunet" in capsys.readouterr().out
