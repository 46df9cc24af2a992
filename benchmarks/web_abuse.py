"""`grinlab serve` on loopback under abuse, bounded in count and time (issue: hardening). Writes
benchmarks/results/web_abuse.json.

    python benchmarks/web_abuse.py                   # 100 clients for 60 s, then the slow and silent ones

1. flood: 100 concurrent clients post real 640x480 photos for 60 s. Allowed answers: 200, or 503
   with Retry-After (the server's queue is full); any other status, a 5xx, or a connection error
   counts as a failure. Latency percentiles of all answers.
2. slow uploads: 20 clients each declare a 100 kB upload and trickle one byte a second, while 2
   normal clients keep posting; each slow one must get 408 within the server's upload timeout
   (20 s) and the normal clients' latency is reported beside their latency alone.
3. WebSocket clients that never read: 4 clients (the server's live-session limit) send frames as
   fast as they can and read nothing, while 2 normal clients post; the server must close them
   after its idle timeout (30 s) and take new live sessions afterwards. Server memory (VmRSS) is
   sampled throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import bench_io
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from speed_frames import frames  # noqa: E402
from web_load import SHARED, post_for, start_server  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(latencies: list[float]) -> dict:
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"p50_ms": round(float(np.percentile(lat, 50)), 1), "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "max_ms": round(float(np.max(lat)), 1)}  # fmt: skip


def answer_kind(r) -> str:
    """200, "503+Retry-After" (the allowed refusal), or any other status."""
    if r.status_code == 503 and r.headers.get("retry-after"):
        return "503+Retry-After"
    return str(r.status_code)


def posting(url, payloads, clients: int, seconds: float) -> dict:
    """``clients`` threads post photos for ``seconds``; answers by kind."""
    records, wall = post_for(url, payloads, clients, seconds, answer_kind, timeout=60)
    kinds: dict[str, int] = {}
    for _, kind in records:
        kinds[kind] = kinds.get(kind, 0) + 1
    failures = sum(n for k, n in kinds.items() if k not in ("200", "503+Retry-After"))
    return {"clients": clients, "seconds": round(wall, 1), "answers": len(records),
            "ok_per_s": round(kinds.get("200", 0) / wall, 1), "by_kind": kinds, "failures": failures,
            "latency": percentiles([r[0] for r in records])}  # fmt: skip


def slow_upload(port: int, results: list, lock) -> None:
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
              b"Content-Length: 100000\r\n\r\n")  # fmt: skip
    s.settimeout(0.0)
    reply = b""
    while time.monotonic() - t0 < 60 and b"\r\n" not in reply:
        try:
            s.send(b"x")
        except OSError:
            pass
        time.sleep(1.0)
        try:
            reply += s.recv(4096)
        except BlockingIOError:
            pass
        except OSError:
            break
    s.close()
    with lock:
        results.append(
            {
                "status": reply.split(b"\r\n")[0].decode(errors="replace"),
                "seconds": round(time.monotonic() - t0, 1),
            }
        )


def silent_websocket(port: int, frame: bytes, results: list, lock) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    t0, sent = time.monotonic(), 0
    try:
        with connect(f"ws://127.0.0.1:{port}/api/live", max_size=None) as ws:
            while time.monotonic() - t0 < 90:
                ws.send(frame)  # never ws.recv()
                sent += 1
                time.sleep(0.01)
            code = None
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
    except OSError as exc:
        code = type(exc).__name__
    with lock:
        results.append(
            {"closed_after_s": round(time.monotonic() - t0, 1), "close_code": code, "frames_sent": sent}
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    bench_io.add_output_options(ap, "web_abuse.json")
    args = ap.parse_args()
    args.out = bench_io.output(args, "web_abuse.json")
    photos = SHARED / "data" / "test-photos"
    if not photos.is_dir():
        print(f"{photos}: not found; set GRINLAB_SHARED to the shared data folder", file=sys.stderr)
        return 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    payloads = frames(photos)
    proc = start_server(port)
    url = f"http://127.0.0.1:{port}"
    memory, sampling = [], threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            memory.append(rss_mb(proc.pid))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    out = {"command": "python benchmarks/web_abuse.py" + (f" --clients {args.clients} --seconds {args.seconds:g}"),
           "server": "grinlab serve: 2 workers, max_pending 32, queue_timeout 10 s, upload_timeout 20 s, "
                     "live_idle_timeout 30 s, 4 live sessions; YuNet + smile, valence, emotion7",
           "machine": {"cpus": os.cpu_count()}}  # fmt: skip
    try:
        posting(url, payloads, 2, 2.0)  # warm-up
        out["baseline_2_clients"] = posting(url, payloads, 2, 10.0)
        print("baseline", json.dumps(out["baseline_2_clients"]), flush=True)
        out["flood"] = posting(url, payloads, args.clients, args.seconds)
        print("flood", json.dumps(out["flood"]), flush=True)

        lock, slow = threading.Lock(), []
        slow_threads = [threading.Thread(target=slow_upload, args=(port, slow, lock)) for _ in range(20)]
        for t in slow_threads:
            t.start()
        out["beside_slow_uploads"] = posting(url, payloads, 2, 25.0)
        for t in slow_threads:
            t.join()
        out["slow_uploads"] = {"clients": 20, "answers": sorted(slow, key=lambda r: r["seconds"])}
        print("slow", json.dumps(out["slow_uploads"])[:300], flush=True)

        frame = payloads[0][1]
        silent: list = []
        ws_threads = [
            threading.Thread(target=silent_websocket, args=(port, frame, silent, lock)) for _ in range(4)
        ]
        for t in ws_threads:
            t.start()
        out["beside_silent_websockets"] = posting(url, payloads, 2, 45.0)
        for t in ws_threads:
            t.join()
        out["silent_websockets"] = {"clients": 4, "answers": silent}
        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{port}/api/live") as ws:  # a new session is taken afterwards
            ws.send(frame)
            out["live_session_after"] = json.loads(ws.recv(timeout=30))["type"]
        print("silent", json.dumps(out["silent_websockets"]), out["live_session_after"], flush=True)
    finally:
        sampling.set()
        proc.terminate()
        proc.wait(timeout=30)
    out["server_rss_mb"] = {
        "start": round(memory[0], 1),
        "peak": round(max(memory), 1),
        "end": round(memory[-1], 1),
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
