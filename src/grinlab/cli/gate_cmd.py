"""grinlab gate: the smile gate on a live source: opens (runs actions) when a face holds a smile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .live_cmd import add_live_arguments, build, report, sigterm_as_interrupt

NAME = "gate"
HELP = "smile gate: open a door (command, webhook or Python hook) when the person in front holds a smile"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--write-config", metavar="FILE.toml",
                   help="write the documented default config to FILE and exit (no SOURCE needed)")  # fmt: skip
    add_live_arguments(p, source_optional=True)  # SOURCE may be left out with --write-config
    p.add_argument("--config", metavar="FILE.toml", help="gate thresholds and actions (see --write-config)")
    p.add_argument("--events", metavar="FILE.jsonl",
                   help="event log (opened, denied, face_lost, action results), appended to; snapshots go "
                        "to FILE_snapshots/ beside it (default: a new folder per run under "
                        "~/.local/share/grinlab/gate/, or $GRINLAB_HOME/gate/)")  # fmt: skip


def default_events_path() -> Path:
    """A new folder per run in the user's data folder, so a gate started anywhere never litters
    the current folder nor appends to another run's log."""
    import os
    import time

    home = os.environ.get("GRINLAB_HOME")
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "grinlab"
    return (Path(home) if home else data) / "gate" / time.strftime("%Y%m%d-%H%M%S") / "events.jsonl"


def run(args) -> int:
    from ..errors import GrinlabError
    from ..gate import DEFAULT_CONFIG_TOML, GateActions, SmileGate, load_config
    from ..io.event_log import EventLog
    from ..live import run_live

    if args.write_config:
        path = Path(args.write_config)
        if path.exists():
            raise GrinlabError(f"{path} exists; remove it or choose another name")
        path.write_text(DEFAULT_CONFIG_TOML, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    if args.source is None:
        raise GrinlabError("give a SOURCE (camera index, video file or stream URL), or --write-config FILE")
    config = load_config(args.config)
    sigterm_as_interrupt()
    stream, session = build(args)
    events = EventLog(args.events or default_events_path(), snapshots=config.gate.snapshots)
    print(f"gate events: {events.path}", file=sys.stderr)
    actions = GateActions(config.actions, events)
    session.gate = SmileGate(config.gate, events, actions)
    try:
        summary = run_live(stream, session, log_path=args.log, video_path=args.out_video, show=args.show,
                           overwrite=args.force)  # fmt: skip
    finally:
        actions.close()
        events.close()
    print(f"gate events: {events.path} ({events.count} lines)", file=sys.stderr)
    return report(NAME, summary, args.json, args.log)
