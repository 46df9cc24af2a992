"""WS /api/live: the browser's camera as a stream, one Session (tracker + smile gate) per connection.

Binary JPEG/PNG frames in, one JSON reply per frame out: ``{"type": "result", "frame", "result",
"gate", "events", "server_ms"}``; the session's state (tracks, follow boxes, gate) belongs to the
connection and the loaded models to the server's one Analyzer, so a connection costs no model
memory. The text frame ``{"type": "reset"}`` starts the session afresh; any other text frame gets
an error reply. A connection that sends nothing, or reads none of its replies, for
``idle_timeout_s`` is closed (code 1001), freeing its place among ``max_sessions``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from ..errors import GrinlabError
from ..gate import GateOptions, SmileGate
from ..io.images import decode_image
from ..pipeline import Analyzer
from .workers import Busy, SessionCount, WorkerSlots

CONTROL_HELP = 'text frames are control messages: send {"type": "reset"}, or a frame as binary JPEG/PNG bytes'


@dataclass(frozen=True)
class LiveLimits:
    max_frame_bytes: int
    max_pixels: int
    queue_timeout_s: float
    idle_timeout_s: float


def control_message(text: str) -> str | None:
    """The "type" of a JSON text frame ({"type": "reset"}), or None for anything else."""
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return message.get("type") if isinstance(message, dict) and isinstance(message.get("type"), str) else None


async def serve_live(ws: WebSocket, analyzer: Analyzer, workers: WorkerSlots, sessions: SessionCount,
                     gate: GateOptions, limits: LiveLimits) -> None:  # fmt: skip
    await ws.accept()
    if not sessions.enter():
        await ws.send_json({"type": "error", "message": "too many live sessions; try again later"})
        await ws.close(code=1013)
        return
    session = analyzer.session(gate=SmileGate(gate))
    start = time.monotonic()
    index = 0

    def process(data: bytes, ts: float, i: int) -> dict:
        t0 = time.perf_counter()
        img = decode_image(data, "frame", limits.max_pixels)
        with workers.slot(limits.queue_timeout_s):
            result = session.process(img, ts, i, "camera")
        return {"type": "result", "frame": i, "result": result.to_dict(), "gate": session.gate_status(),
                "events": [e.to_dict() for e in session.events],
                "server_ms": round((time.perf_counter() - t0) * 1e3, 2)}  # fmt: skip

    async def send(reply: dict) -> None:  # a client that reads nothing must not hold the session
        await asyncio.wait_for(ws.send_json(reply), timeout=limits.idle_timeout_s)

    try:
        while True:
            message = await asyncio.wait_for(ws.receive(), timeout=limits.idle_timeout_s)
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if not data:
                text = message.get("text") or ""
                if not text:
                    continue
                if control_message(text) == "reset":
                    session.reset()
                    start, index = time.monotonic(), 0
                else:
                    await send({"type": "error", "message": CONTROL_HELP})
                continue
            if len(data) > limits.max_frame_bytes:
                await send({"type": "error", "message": "frame too large"})
                continue
            ts = (time.monotonic() - start) * 1000.0
            try:
                reply = await run_in_threadpool(process, data, ts, index)
                index += 1
            except (GrinlabError, Busy) as exc:
                reply = {"type": "error", "message": str(exc) or "all workers are busy"}
            await send(reply)
    except asyncio.TimeoutError:  # idle, or not reading its replies: free the session
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=1001, reason="idle or not reading"), timeout=1.0)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        sessions.leave()
