"""The dataset cache: keys follow the source file, entries round-trip images of any shape."""

from __future__ import annotations

import os

import numpy as np

from grinlab.data.cache import cache_dir, cache_key, cached_arrays, pack_images, unpack_images


def test_cache_dir_follows_env(tmp_cache):
    assert cache_dir() == tmp_cache


def test_key_changes_with_source_and_options(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("x")
    key = cache_key([src], {"o": 1})
    assert cache_key([src], {"o": 1}) == key
    assert cache_key([src], {"o": 2}) != key
    src.write_text("xy")
    os.utime(src, ns=(1, 1))
    assert cache_key([src], {"o": 1}) != key


def test_cached_arrays_builds_once(tmp_cache, tmp_path):
    src = tmp_path / "a.csv"
    src.write_text("x")
    calls = []

    def build():
        calls.append(1)
        return {"a": np.arange(3)}

    first = cached_arrays("t", [src], {}, build)
    second = cached_arrays("t", [src], {}, build)
    assert calls == [1] and second["a"].tolist() == first["a"].tolist() == [0, 1, 2]
    assert not list(tmp_cache.glob("*.tmp"))  # the atomic write left no temporary file
    cached_arrays("t", [src], {}, build, enabled=False)
    assert calls == [1, 1]


def test_pack_unpack_round_trip():
    images = [np.full((3, 4), 1, np.uint8), np.full((2, 5, 3), 2, np.uint8), np.zeros((1, 1), np.uint8)]
    back = unpack_images(**pack_images(images))
    assert [b.shape for b in back] == [i.shape for i in images]
    assert all(np.array_equal(a, b) for a, b in zip(images, back, strict=True))
