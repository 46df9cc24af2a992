"""The smile gate's actions: a command (the event as JSON in ``GRINLAB_EVENT``), a webhook (the
event as a JSON POST) and a Python hook (called with the event dict), run for the events listed
in ``actions.on`` on one background thread, in order, so a slow webhook never stalls the camera.
Each outcome is logged as an ``action`` line; a failing action never stops the gate."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import GrinlabError
from .config import ActionOptions
from .events import GateEvent

if TYPE_CHECKING:
    from ..io.event_log import EventLog

log = logging.getLogger(__name__)


class GateActions:
    """Runs the configured actions for each event on one background thread, in order."""

    def __init__(self, options: ActionOptions, log: EventLog | None = None):
        """``log`` receives one "action" line per action run (ok, detail, ms)."""
        self.options = options
        self.log = log
        self._hook = _load_hook(options.hook) if options.hook else None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grinlab-gate-action")
        self._pending = []

    @property
    def any(self) -> bool:
        o = self.options
        return bool(o.command or o.webhook or self._hook)

    def submit(self, event: GateEvent) -> None:
        """Queue the actions for ``event`` if its kind is in ``actions.on``. They receive
        ``event.to_dict()``, the same dict the event log writes."""
        if event.kind in self.options.on and self.any:
            self._pending.append(self._pool.submit(self._run_all, event.to_dict()))

    def _run_all(self, event: dict) -> None:
        o = self.options
        if o.command:
            self._record(event, "command", self._run_command, event)
        if o.webhook:
            self._record(event, "webhook", self._post, event)
        if self._hook:
            self._record(event, "hook", self._hook, event)

    def _record(self, event, name, fn, arg) -> None:
        t0 = time.perf_counter()
        try:
            detail = fn(arg)
            ok = True
            if not isinstance(detail, (str, int, float, bool, type(None))):
                detail = repr(detail)[:200]
        except Exception as exc:  # an action's failure is logged, never fatal to the gate
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        record = {"event": "action", "action": name, "for": event["event"], "frame": event["frame"],
                  "ok": ok, "detail": detail, "ms": round((time.perf_counter() - t0) * 1e3, 1)}  # fmt: skip
        if not ok:
            log.warning("gate action %s failed: %s", name, detail)
        if self.log is not None:
            self.log.write(record)

    def _run_command(self, event: dict):
        env = dict(os.environ, GRINLAB_EVENT=json.dumps(event))
        done = subprocess.run(list(self.options.command), env=env, timeout=self.options.timeout_s,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"exit code {done.returncode}: {done.stderr.strip()[:200]}")
        return f"exit code 0{': ' + done.stdout.strip()[:200] if done.stdout.strip() else ''}"

    def _post(self, event: dict):
        req = urllib.request.Request(self.options.webhook, data=json.dumps(event).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
        with urllib.request.urlopen(req, timeout=self.options.timeout_s) as resp:
            return f"HTTP {resp.status}"

    def close(self, timeout_s: float | None = None) -> None:
        """Wait for actions still running (up to their timeout each), then stop the thread."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.options.timeout_s * 2)
        for fut in self._pending:
            try:
                fut.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # timed out: logged as pending below
                log.warning("a gate action was still running at shutdown")
        self._pool.shutdown(wait=False, cancel_futures=True)


def _load_hook(spec: str):
    target, _, func = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise GrinlabError(f"actions.hook: no such file {path}")
            mod_spec = importlib.util.spec_from_file_location(f"grinlab_hook_{path.stem}", path)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except GrinlabError:
        raise
    except Exception as exc:
        raise GrinlabError(f"actions.hook: cannot import {target!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise GrinlabError(f"actions.hook: {target!r} has no function {func!r}")
    return fn
