"""Property tests of the files users write or hand over (hypothesis, bounded for CI): a model
card and a gate TOML config load into their objects or raise a GrinlabError naming the file, never
another exception, whatever they hold."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grinlab.errors import GrinlabError
from grinlab.gate import load_config
from grinlab.modelcard import ModelCard
from grinlab.shipped import card_path, resolve_model

BOUNDED = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True),
                   st.text(max_size=12))  # fmt: skip
json_value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)  # fmt: skip


def loads_or_refuses(load):
    try:
        return load()
    except GrinlabError as exc:
        assert str(exc)
        return None


@BOUNDED
@given(data=st.data())
def test_a_model_card_loads_or_refuses(tmp_path_factory, data):
    real = json.loads(card_path(resolve_model("smile")).read_text())
    card = dict(real)
    for key in data.draw(st.lists(st.sampled_from(sorted(real)), max_size=4)):  # damage some fields
        if data.draw(st.booleans()):
            card[key] = data.draw(json_value)
        else:
            card.pop(key, None)
    path = tmp_path_factory.mktemp("card") / "m.json"
    path.write_text(json.dumps(card))
    loads_or_refuses(lambda: ModelCard.load(path))


@BOUNDED
@given(raw=st.one_of(st.binary(max_size=200), json_value.map(json.dumps).map(str.encode)))
@example(raw=b"\x80")  # not UTF-8: was a UnicodeDecodeError traceback
@example(raw=b'{"labels": ["a"], "preprocessing": null, "name": "m", "task": "t"}')  # was an AttributeError
def test_a_card_file_of_any_content_loads_or_refuses(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("card") / "m.json"
    path.write_bytes(raw)
    loads_or_refuses(lambda: ModelCard.load(path))


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a basic TOML string


toml_scalar = st.one_of(st.booleans(), st.integers(-5, 10**6), st.floats(), st.text(max_size=16),
                        st.sampled_from(["opened", "denied", "'unclosed", "http://x", "m:f", "echo hi"]))  # fmt: skip
KEYS = {"gate": ["threshold", "hold_s", "min_face_px", "cooldown_s", "deny_after_s", "lost_after_s", "snapshots", "x"],
        "actions": ["on", "command", "webhook", "hook", "timeout_s", "y"]}  # fmt: skip


@BOUNDED
@given(data=st.data())
def test_a_gate_config_loads_or_refuses(tmp_path_factory, data):
    lines = []
    for section in data.draw(
        st.lists(st.sampled_from(["gate", "actions", "other"]), unique=True, max_size=3)
    ):
        lines.append(f"[{section}]")
        for key in data.draw(st.lists(st.sampled_from(KEYS.get(section, ["z"])), unique=True, max_size=4)):
            value = data.draw(st.one_of(toml_scalar, st.lists(toml_scalar, max_size=3)))
            lines.append(f"{key} = {toml_value(value)}")
    path = tmp_path_factory.mktemp("gate") / "gate.toml"
    path.write_text("\n".join(lines) + "\n")
    loads_or_refuses(lambda: load_config(path))


@pytest.mark.parametrize("text", ["[actions]\nwebhook = 5", "[actions]\ncommand = \"'unclosed\"",
                                  "[actions]\non = 5", "[actions]\ncommand = [[1]]", "[actions]\non = \"opened\"",
                                  "[gate]\nthreshold = nan", "[gate]\nsnapshots = 1"])  # fmt: skip
def test_gate_configs_that_once_crashed_are_one_error(tmp_path, text):
    """Found by the property test above: each was an AttributeError or ValueError traceback."""
    path = tmp_path / "gate.toml"
    path.write_text(text + "\n")
    with pytest.raises(GrinlabError, match=str(path)):
        load_config(path)


@BOUNDED
@given(raw=st.binary(max_size=300))
def test_a_gate_config_of_any_bytes_loads_or_refuses(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("gate") / "gate.toml"
    path.write_bytes(raw)
    loads_or_refuses(lambda: load_config(path))
