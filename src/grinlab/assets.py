"""Third-party model files that cannot ship inside the package: an explicit download step with a
sha256 check into a cache folder, or a local copy. Nothing here runs at import or in a constructor.

Cache folder: $GRINLAB_HOME/models, else ~/.cache/grinlab/models.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import GrinlabError

log = logging.getLogger(__name__)


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
        licence="MIT (per opencv_zoo; training code Apache-2.0)",
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
        f"the {name} model is not on this machine: run `grinlab download {name}` (needs internet), or pass "
        f"--{name}-model PATH / set {asset.env_var}=PATH to a local copy of {asset.url}"
    )


def _target(asset: Asset, dest: str | Path | None) -> Path:
    """dest may be a file path, an existing folder, or None (the cache)."""
    if dest is None:
        return cache_dir() / asset.filename
    dest = Path(dest).expanduser()
    return dest / asset.filename if dest.is_dir() else dest


def _is_current(path: Path, asset: Asset) -> bool:
    return path.is_file() and sha256_of(path) == asset.sha256


def install_from(name: str, source: str | Path, dest: str | Path | None = None, force: bool = False) -> Path:
    """Copy a local file into the cache (or ``dest``) after checking its sha256."""
    asset = get_asset(name)
    source = Path(source).expanduser()
    if not source.is_file():
        raise GrinlabError(f"{source}: file not found; give the path of a downloaded {asset.filename}")
    digest = sha256_of(source)
    if digest != asset.sha256:
        raise GrinlabError(
            f"{source}: sha256 {digest[:12]}... does not match the {name} model ({asset.sha256[:12]}...); "
            f"is it {asset.filename} from {asset.url}?"
        )
    target = _target(asset, dest)
    if not force and _is_current(target, asset):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=asset.filename, suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("%s: installed %s from %s", name, target, source)
    return target


def download(name: str, dest: str | Path | None = None, force: bool = False, timeout: float = 30.0) -> Path:
    """Fetch an asset into the cache (or ``dest``): streamed to a temp file beside the target,
    sha256-checked, then renamed into place, so an interrupted download leaves nothing behind."""
    asset = get_asset(name)
    target = _target(asset, dest)
    if not force and _is_current(target, asset):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=asset.filename, suffix=".part")
    log.info("%s: downloading %s", name, asset.url)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(asset.url, timeout=timeout) as resp:
                    while chunk := resp.read(1 << 16):
                        h.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise GrinlabError(
                    f"cannot download {asset.url} ({reason}); download it by hand (a browser, another machine) "
                    f"and run `grinlab download {name} --from FILE`"
                ) from None
        if h.hexdigest() != asset.sha256:
            raise GrinlabError(
                f"{asset.url}: the downloaded file has sha256 {h.hexdigest()[:12]}..., expected "
                f"{asset.sha256[:12]}...; try again, or download it by hand and use --from FILE"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("%s: saved %s (sha256 verified)", name, target)
    return target
