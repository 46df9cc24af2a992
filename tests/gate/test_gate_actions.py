"""The gate's actions: command, webhook and Python hook run on a background thread for the
configured events, receive the event as a dict (as before events were GateEvents), and log their
outcome; a failing action never stops the gate."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from test_gate_machine import run_gate

from grinlab.errors import GrinlabError
from grinlab.gate import ActionOptions, GateActions, SmileGate
from grinlab.io.event_log import EventLog


class _Hook(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_actions_run_command_webhook_and_hook_and_log_the_outcome(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    marker = tmp_path / "opened.txt"
    hook_file = tmp_path / "door.py"
    hook_file.write_text("calls = []\ndef on_event(e):\n    calls.append(e)\n    return 'ok'\n")
    script = f"import os,pathlib; pathlib.Path({str(marker)!r}).write_text(os.environ['GRINLAB_EVENT'])"
    opts = ActionOptions(
        on=("opened", "denied"),
        command=(sys.executable, "-c", script),
        webhook=f"http://127.0.0.1:{server.server_port}/door",
        hook=f"{hook_file}:on_event",
    )
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    actions = GateActions(opts, log)
    run_gate([0.9] * 40, gate=SmileGate(log=log, actions=actions))
    actions.close()
    log.close()
    server.shutdown()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert rows[0]["event"] == "opened"
    assert {r["action"]: r["ok"] for r in rows[1:]} == {"command": True, "webhook": True, "hook": True}
    assert json.loads(marker.read_text())["event"] == "opened"
    assert _Hook.received[0]["event"] == "opened" and _Hook.received[0]["track_id"] == 1


def test_a_failing_action_is_logged_and_the_gate_goes_on(tmp_path):
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    actions = GateActions(ActionOptions(command=(sys.executable, "-c", "raise SystemExit(3)"),
                                        webhook="http://127.0.0.1:9/nothing-listens", timeout_s=2), log)  # fmt: skip
    events, gate = run_gate([0.9] * 40, gate=SmileGate(log=log, actions=actions))
    actions.close()
    log.close()
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    failed = {r["action"]: r for r in rows if r["event"] == "action"}
    assert not failed["command"]["ok"] and "exit code 3" in failed["command"]["detail"]
    assert not failed["webhook"]["ok"] and "refused" in failed["webhook"]["detail"].lower()
    assert gate.openings == 1


def test_bad_hook_and_webhook_are_user_errors(tmp_path):
    with pytest.raises(GrinlabError, match="has no function"):
        (tmp_path / "h.py").write_text("x = 1\n")
        GateActions(ActionOptions(hook=f"{tmp_path / 'h.py'}:nope"))
    with pytest.raises(GrinlabError, match="http"):
        ActionOptions(webhook="ftp://x")


def test_a_hook_receives_the_event_as_the_dict_the_log_writes(tmp_path):
    """Users' hooks were written for dicts: they still get one, equal to the event's log line."""
    hook_file, received = tmp_path / "door_dict.py", tmp_path / "received.jsonl"
    hook_file.write_text(
        "import json\n"
        "def on_event(e):\n"
        f"    with open({str(received)!r}, 'a') as f:\n"
        "        f.write(json.dumps({'type': type(e).__name__, 'event': e}) + '\\n')\n"
        "    e['seen'] = True\n"
    )
    log = EventLog(tmp_path / "events.jsonl", snapshots=False)
    actions = GateActions(ActionOptions(on=("opened",), hook=f"{hook_file}:on_event"), log)
    _, gate = run_gate([0.9] * 40, gate=SmileGate(log=log, actions=actions))
    actions.close()
    log.close()
    calls = [json.loads(line) for line in received.read_text().splitlines()]
    assert [c["type"] for c in calls] == ["dict"]
    sent = calls[0]["event"]
    rows = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert sent == rows[0] and rows[0]["event"] == "opened"
    assert rows[1]["event"] == "action" and rows[1]["ok"]
    assert "seen" not in json.dumps(rows) and gate.openings == 1  # changing its dict touches nothing else
