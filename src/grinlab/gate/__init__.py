"""The smile gate: a door that opens when the person in front of it holds a smile.

``SmileGate.update(result)`` takes each tracked frame (``FaceTracker`` output: faces with track ids
and smoothed smile intensities) and returns the events of that frame. Time is the frames' own
timestamps, so a recorded video behaves exactly like the live camera it came from.

One person at a time: the candidate is the largest face whose shorter side is at least
``min_face_px``. The door opens when the candidate's smile intensity stays at or above
``threshold`` for ``hold_s`` seconds without a break; then nothing opens for ``cooldown_s``
seconds, and smiling during the cooldown does not count towards the next opening.

Events (each a JSON line in the log, with an annotated snapshot when a frame is given):
  opened     the candidate held a smile for hold_s
  denied     the candidate stood in front of the door for deny_after_s without opening it
             (at most once per person)
  face_lost  the candidate was not seen for lost_after_s before the door opened for them
Actions (command, webhook, Python hook) run for the events listed in ``actions.on`` on a
background thread, so a slow webhook never stalls the camera; their outcome is logged as an
``action`` line.

The package, by job:
  config   the TOML config: DEFAULT_CONFIG_TOML, GateOptions, ActionOptions, GateConfig, load_config
  events   GateEvent (frozen; ``to_dict()`` is the log line and what actions receive), EVENT_KINDS
  machine  SmileGate, the state machine
  actions  GateActions: command, webhook and Python hook on a background thread
The event log itself is ``grinlab.io.event_log.EventLog`` (re-exported here).
"""

from ..io.event_log import EventLog
from .actions import GateActions
from .config import (
    DEFAULT_CONFIG_TOML,
    ActionOptions,
    GateConfig,
    GateOptions,
    gate_config_dict,
    load_config,
    parse_config,
)
from .events import EVENT_KINDS, GateEvent
from .machine import SmileGate

__all__ = [
    "DEFAULT_CONFIG_TOML",
    "EVENT_KINDS",
    "ActionOptions",
    "EventLog",
    "GateActions",
    "GateConfig",
    "GateEvent",
    "GateOptions",
    "SmileGate",
    "gate_config_dict",
    "load_config",
    "parse_config",
]
