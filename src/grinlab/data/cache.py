"""On-disk cache of parsed datasets: one uncompressed ``.npz`` per (source files, loader options).

The folder is ``$GRINLAB_CACHE`` if set, else ``~/.cache/grinlab/datasets``. A cache entry is keyed by
each source's absolute path, size and modification time plus the loader's options, so editing or
replacing a source file makes a new entry. Writes are atomic (temporary file + rename), and an
unreadable or corrupt entry is logged and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Bump when the layout of cached arrays changes, so old entries are ignored.
CACHE_VERSION = 1


def cache_dir() -> Path:
    """The dataset cache folder (not created here)."""
    env = os.environ.get("GRINLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "grinlab" / "datasets"


def cache_key(sources: Iterable[str | os.PathLike], options: dict) -> str:
    """A hex digest of the sources' identities (absolute path, size, mtime) and the options."""
    ident = []
    for src in sources:
        p = Path(src).resolve()
        st = p.stat()
        ident.append([str(p), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"v": CACHE_VERSION, "sources": ident, "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cached_arrays(
    name: str,
    sources: Sequence[str | os.PathLike],
    options: dict,
    build: Callable[[], dict[str, np.ndarray]],
    enabled: bool = True,
) -> dict[str, np.ndarray]:
    """Return ``build()``'s arrays, from the cache when a valid entry exists, else build and store them.

    ``name`` prefixes the file name so the cache folder stays readable (e.g. ``fer2013-<key>.npz``).
    """
    if not enabled:
        return build()
    path = cache_dir() / f"{name}-{cache_key(sources, options)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            log.debug("loaded %s from cache %s", name, path)
            return arrays
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring corrupt dataset cache %s (%s); rebuilding it", path, exc)
    arrays = build()
    _atomic_save(path, arrays)
    return arrays


def _atomic_save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file beside ``path`` and rename it, so readers never see half a file.
    A cache that cannot be written is only a warning: the data was loaded anyway."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.debug("wrote dataset cache %s", path)
    except OSError as exc:
        log.warning(
            "could not write dataset cache %s (%s); set GRINLAB_CACHE to a writable folder", path, exc
        )


def pack_images(images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Images of any size -> a flat uint8 buffer plus their (H, W, C) shapes (C=0 for grey)."""
    shapes = np.array(
        [(im.shape[0], im.shape[1], im.shape[2] if im.ndim == 3 else 0) for im in images], np.int64
    )
    shapes = shapes.reshape(-1, 3)
    flat = np.concatenate([im.reshape(-1) for im in images]) if images else np.zeros(0, np.uint8)
    return {"pixels": flat.astype(np.uint8, copy=False), "shapes": shapes}


def unpack_images(pixels: np.ndarray, shapes: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`pack_images`; the images are views into ``pixels``."""
    sizes = shapes[:, 0] * shapes[:, 1] * np.maximum(shapes[:, 2], 1)
    ends = np.cumsum(sizes)
    images = []
    for (h, w, c), end, size in zip(shapes.tolist(), ends.tolist(), sizes.tolist(), strict=True):
        buf = pixels[end - size : end]
        images.append(buf.reshape((h, w, c) if c else (h, w)))
    return images
