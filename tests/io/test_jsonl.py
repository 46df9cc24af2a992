"""io.jsonl.JsonlWriter: whole lines, never a silent truncation, one-line errors."""

from __future__ import annotations

import json

import pytest

from grinlab.errors import GrinlabError
from grinlab.io.jsonl import JsonlWriter


def test_an_earlier_log_is_kept_unless_overwrite_or_append(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"earlier": 1}\n')
    with pytest.raises(GrinlabError, match="already exists; pass --force"):
        JsonlWriter(path)
    assert path.read_text() == '{"earlier": 1}\n'
    with JsonlWriter(path, append=True) as w:
        w.write({"later": 2})
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"earlier": 1}, {"later": 2}]
    with JsonlWriter(path, overwrite=True) as w:
        w.write({"only": 3})
    w.write({"after close": 4})  # a late writer after close is dropped, not an error
    assert path.read_text() == '{"only": 3}\n' and w.count == 1


def test_an_unwritable_place_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GrinlabError, match="cannot write here"):
        JsonlWriter(blocker / "log.jsonl")  # a folder that is a file
