"""Third-party model files that cannot ship inside the package: an explicit download step with a
sha256 check into a cache folder, or a local copy. Nothing here runs at import or in a constructor.

Cache folder: $GRINLAB_HOME/models, else ~/.cache/grinlab/models.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import GrinlabError


@dataclass(frozen=True)
class Asset:
    name: str
    filename: str
    url: str
    sha256: str
    size: int
    licence: str
    env_var: str


ASSETS = {
    "yunet": Asset(
        name="yunet",
        filename="face_detection_yunet_2023mar.onnx",
        url="https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
        sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        size=232_589,
        licence="MIT (OpenCV Zoo)",
        env_var="GRINLAB_YUNET_MODEL",
    )
}


def get_asset(name: str) -> Asset:
    if name not in ASSETS:
        raise GrinlabError(f"unknown download {name!r}; available: {', '.join(ASSETS)}")
    return ASSETS[name]


def cache_dir() -> Path:
    home = os.environ.get("GRINLAB_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "grinlab") / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_VERIFIED: set[tuple[str, int, int]] = set()


def _verified(path: Path, asset: Asset) -> bool:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        if sha256_of(path) != asset.sha256:
            return False
        _VERIFIED.add(key)
    return True


def asset_path(name: str) -> Path | None:
    """The verified local file of an asset: the env-var override, else the cache; None if absent."""
    asset = get_asset(name)
    override = os.environ.get(asset.env_var)
    if override:
        p = Path(override).expanduser()
        if not p.is_file():
            raise GrinlabError(f"{asset.env_var}={override}: file not found")
        if not _verified(p, asset):
            raise GrinlabError(
                f"{p}: sha256 does not match the {name} model ({asset.sha256[:12]}...); wrong file?"
            )
        return p
    p = cache_dir() / asset.filename
    return p if p.is_file() and _verified(p, asset) else None


def missing_message(name: str) -> str:
    asset = get_asset(name)
    return (
        f"the {name} model is not on this machine; run `grinlab download {name}` (needs internet), or download "
        f"{asset.url} yourself and run `grinlab download {name} --from FILE`, or set {asset.env_var}=FILE"
    )


def install_from(name: str, source: str | Path, force: bool = False) -> Path:
    """Copy a local file into the cache after checking its sha256."""
    asset = get_asset(name)
    source = Path(source)
    if not source.is_file():
        raise GrinlabError(f"{source}: file not found")
    digest = sha256_of(source)
    if digest != asset.sha256:
        raise GrinlabError(
            f"{source}: sha256 {digest[:12]}... does not match {name} ({asset.sha256[:12]}...)"
        )
    dest = cache_dir() / asset.filename
    if dest.is_file() and not force and sha256_of(dest) == asset.sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(source, tmp)
    os.replace(tmp, dest)
    return dest


def download(name: str, force: bool = False, timeout: float = 30.0) -> Path:
    """Fetch an asset into the cache: streamed to a temp file, sha256-checked, renamed."""
    asset = get_asset(name)
    dest = cache_dir() / asset.filename
    if dest.is_file() and not force and sha256_of(dest) == asset.sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=asset.filename, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(asset.url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 16):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != asset.sha256:
            raise GrinlabError(
                f"{asset.url}: downloaded file has the wrong sha256; try again or use --from FILE"
            )
        os.replace(tmp, dest)
        return dest
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GrinlabError(
            f"cannot download {asset.url} ({reason}); on a machine without internet, copy the file here and run "
            f"`grinlab download {name} --from FILE`"
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
