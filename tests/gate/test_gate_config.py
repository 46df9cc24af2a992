"""The gate's TOML config: the documented defaults round-trip; errors name the file and key."""

from __future__ import annotations

import pytest

from grinlab.errors import GrinlabError
from grinlab.gate import DEFAULT_CONFIG_TOML, GateConfig, load_config


def test_default_config_file_round_trips(tmp_path):
    path = tmp_path / "gate.toml"
    path.write_text(DEFAULT_CONFIG_TOML)
    assert load_config(path) == GateConfig()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[gate]\nhold = 2\n", "unknown key 'hold' in \\[gate\\]; known: .*hold_s"),
        ("[gate]\nthreshold = 1.5\n", "threshold must be between 0 and 1"),
        ('[gate]\nthreshold = "high"\n', "threshold must be a number, got 'high'"),
        ("[actions]\non = ['opend']\n", "unknown event 'opend'"),
        ("[gate\n", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key_and_file(tmp_path, text, message):
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(GrinlabError, match=message):
        load_config(path)


def test_a_missing_config_says_how_to_write_one(tmp_path):
    with pytest.raises(GrinlabError, match="--write-config"):
        load_config(tmp_path / "missing.toml")
