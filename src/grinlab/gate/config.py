"""The smile gate's settings: the documented default TOML file, the frozen option dataclasses
([gate] -> GateOptions, [actions] -> ActionOptions) and the strict TOML reader that turns a file
into a GateConfig, naming the file and key in every error."""

from __future__ import annotations

import shlex
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..errors import GrinlabError
from .events import EVENT_KINDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The documented defaults, written by `grinlab gate --write-config FILE`; `load_config` reads it.
DEFAULT_CONFIG_TOML = """\
# grinlab smile gate configuration. Every key is optional; the values below are the defaults.

[gate]
# Smoothed smile intensity (0..1; 0.5 = the smile model's decision threshold) that counts as a smile.
threshold = 0.6
# Seconds the smile must be held without a break before the door opens.
hold_s = 1.0
# Faces smaller than this (shorter side, pixels) are ignored: people walking past in the background.
min_face_px = 80
# After an opening, nothing opens for this many seconds; smiles in that time do not count.
cooldown_s = 5.0
# A person in front of the door this long without opening it gets one "denied" event.
deny_after_s = 4.0
# The person is gone (a "face_lost" event) after this many seconds unseen.
lost_after_s = 0.5
# Save an annotated JPEG of the frame with every event next to the log.
snapshots = true

[actions]
# Which events run the actions below.
on = ["opened"]
# A command to run, as a list (no shell) or a string (split like a shell would, still no shell).
# The event is passed as JSON in the environment variable GRINLAB_EVENT.
# command = ["/usr/local/bin/open-door", "--seconds", "3"]
# A URL that receives the event as a JSON POST.
# webhook = "http://127.0.0.1:8080/door"
# A Python function called with the event dict: "package.module:function" or "path/to/file.py:function".
# hook = "my_door:on_event"
# Seconds an action may take before it is abandoned (and logged as failed).
timeout_s = 5.0
"""


@dataclass(frozen=True)
class GateOptions:
    threshold: float = 0.6
    hold_s: float = 1.0
    min_face_px: int = 80
    cooldown_s: float = 5.0
    deny_after_s: float = 4.0
    lost_after_s: float = 0.5
    snapshots: bool = True

    def __post_init__(self):
        if not 0.0 < self.threshold < 1.0:
            raise GrinlabError(f"gate threshold must be between 0 and 1, got {self.threshold}")
        for name in ("hold_s", "cooldown_s", "deny_after_s", "lost_after_s"):
            if getattr(self, name) < 0:
                raise GrinlabError(f"gate {name} must be >= 0 seconds, got {getattr(self, name)}")
        if self.min_face_px < 0:
            raise GrinlabError(f"gate min_face_px must be >= 0, got {self.min_face_px}")


@dataclass(frozen=True)
class ActionOptions:
    on: tuple[str, ...] = ("opened",)
    command: tuple[str, ...] | None = None
    webhook: str | None = None
    hook: str | None = None
    timeout_s: float = 5.0

    def __post_init__(self):
        if isinstance(self.on, str) or not all(isinstance(e, str) for e in self.on):
            raise GrinlabError(f"actions.on must be a list of event names, got {self.on!r}")
        for name in ("webhook", "hook"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise GrinlabError(f"actions.{name} must be a string, got {getattr(self, name)!r}")
        if self.command is not None and not isinstance(self.command, str):
            if not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in self.command):
                raise GrinlabError(
                    f"actions.command must be a string or a list of words, got {self.command!r}"
                )
        object.__setattr__(self, "on", tuple(self.on))
        bad = [e for e in self.on if e not in EVENT_KINDS]
        if bad:
            raise GrinlabError(f"actions.on: unknown event {bad[0]!r}; events are {', '.join(EVENT_KINDS)}")
        if isinstance(self.command, str):
            try:
                object.__setattr__(self, "command", tuple(shlex.split(self.command)))
            except ValueError as exc:  # an unclosed quote
                raise GrinlabError(f"actions.command: {exc} in {self.command!r}") from None
        elif self.command is not None:
            object.__setattr__(self, "command", tuple(str(c) for c in self.command))
        if self.command is not None and not self.command:
            raise GrinlabError("actions.command is empty; give a program and its arguments")
        if self.webhook is not None and not self.webhook.lower().startswith(("http://", "https://")):
            raise GrinlabError(f"actions.webhook must be an http:// or https:// URL, got {self.webhook!r}")
        if self.hook is not None and ":" not in self.hook:
            raise GrinlabError(
                f"actions.hook must look like 'module:function' or 'file.py:function', got {self.hook!r}"
            )
        if self.timeout_s <= 0:
            raise GrinlabError(f"actions.timeout_s must be > 0, got {self.timeout_s}")


@dataclass(frozen=True)
class GateConfig:
    gate: GateOptions = field(default_factory=GateOptions)
    actions: ActionOptions = field(default_factory=ActionOptions)


def load_config(path: str | Path | None) -> GateConfig:
    """A GateConfig from a TOML file (None = the defaults); unknown keys are errors, not ignored."""
    if path is None:
        return GateConfig()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GrinlabError(
            f"{path}: no such config file (write one with `grinlab gate --write-config {path}`)"
        ) from None
    return parse_config(raw, str(path))


def parse_config(raw: bytes, path: str = "gate config") -> GateConfig:
    """A GateConfig from TOML bytes (``path`` names them in errors)."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GrinlabError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"gate", "actions"}
    if unknown:
        raise GrinlabError(
            f"{path}: unknown section [{sorted(unknown)[0]}]; sections are [gate] and [actions]"
        )
    parts = {}
    for section, cls in (("gate", GateOptions), ("actions", ActionOptions)):
        values = data.get(section, {})
        known = {f.name for f in fields(cls)}
        bad = sorted(set(values) - known)
        if bad:
            raise GrinlabError(
                f"{path}: unknown key {bad[0]!r} in [{section}]; known: {', '.join(sorted(known))}"
            )
        defaults = cls()
        for key, value in values.items():
            default = getattr(defaults, key)
            if isinstance(default, bool) and not isinstance(value, bool):
                raise GrinlabError(f"{path}: [{section}] {key} must be true or false, got {value!r}")
            if (
                isinstance(default, (int, float))
                and not isinstance(default, bool)
                and (isinstance(value, bool) or not isinstance(value, (int, float)))
            ):
                raise GrinlabError(f"{path}: [{section}] {key} must be a number, got {value!r}")
        try:
            parts[section] = cls(**values)
        except (TypeError, GrinlabError) as exc:
            raise GrinlabError(f"{path}: [{section}]: {exc}") from None
    return GateConfig(**parts)


def gate_config_dict(config: GateConfig) -> dict:
    """The config as plain data: {"gate": {...}, "actions": {...}}."""
    return {"gate": asdict(config.gate), "actions": asdict(config.actions)}
