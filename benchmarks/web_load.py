"""Bounded load test of `grinlab serve` on loopback: N concurrent clients post real photos to
/api/analyze for a fixed time; throughput, latency percentiles and errors per concurrency level.
Writes benchmarks/results/web_load.json.

    python benchmarks/web_load.py                       # 1, 2, 4, 8 and 16 clients, 10 s each
    python benchmarks/web_load.py --clients 4 --seconds 5

The server is a separate `grinlab serve` process (default settings: 2 workers, the three default
models, YuNet) so client and server do not share an interpreter; both share this 2-core machine.
Each request is one of the speed_frames.py frames (real photos letterboxed to 640x480 with 1-5
faces, JPEG). Any answer other than 200, and any connection error, counts as an error.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_io
import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from speed_frames import frames  # noqa: E402

SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))


def post_for(
    url: str,
    payloads: list[tuple[str, bytes]],
    clients: int,
    seconds: float,
    answer=None,
    timeout: float = 30,
) -> tuple[list[tuple[float, object]], float]:
    """``clients`` threads post photos to /api/analyze in a loop until ``seconds`` have passed:
    ([(latency ms, answer(response) or the error's name)], wall seconds). ``answer`` defaults to
    the status code."""  # fmt: skip
    answer = answer or (lambda r: r.status_code)
    records = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(k: int) -> None:
        with httpx.Client(timeout=timeout) as http:
            i = k
            while time.perf_counter() < deadline:
                name, data = payloads[i % len(payloads)]
                i += 1
                t0 = time.perf_counter()
                try:
                    kind = answer(
                        http.post(f"{url}/api/analyze", files={"image": (name, data, "image/jpeg")})
                    )
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                with lock:
                    records.append(((time.perf_counter() - t0) * 1e3, kind))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, time.perf_counter() - t0


def load(url: str, payloads: list[tuple[str, bytes]], clients: int, seconds: float) -> dict:
    """``clients`` threads post in a loop until ``seconds`` have passed; every request is counted."""
    records, wall = post_for(url, payloads, clients, seconds)
    lat = np.array([r[0] for r in records])
    errors = [r[1] for r in records if r[1] != 200]
    return {
        "clients": clients, "seconds": round(wall, 2), "requests": len(records),
        "requests_per_s": round(len(records) / wall, 1),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1) if len(lat) else None,
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 1) if len(lat) else None,
        "latency_max_ms": round(float(lat.max()), 1) if len(lat) else None,
        "errors": len(errors), "error_kinds": sorted({str(e) for e in errors}),
    }  # fmt: skip


def start_server(port: int) -> subprocess.Popen:
    yunet = SHARED / "models" / "face_detection_yunet_2023mar.onnx"
    proc = subprocess.Popen([sys.executable, "-m", "grinlab", "serve", "--port", str(port), "--detector", "yunet",
                             "--yunet-model", str(yunet)], stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    ap.add_argument("--seconds", type=float, default=10.0)
    bench_io.add_output_options(ap, "web_load.json")
    args = ap.parse_args()
    args.out = bench_io.output(args, "web_load.json")
    bench_io.require(SHARED / "models" / "face_detection_yunet_2023mar.onnx", SHARED / "data" / "test-photos")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    payloads = frames(SHARED / "data" / "test-photos")
    proc = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}"
        load(url, payloads, 2, 2.0)  # warm-up
        levels = []
        for n in args.clients:
            levels.append(load(url, payloads, n, args.seconds))
            print(json.dumps(levels[-1]), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = {
        "what": "POST /api/analyze on loopback, N concurrent clients for a fixed time, real 640x480 photos with 1-5 faces",
        "command": "python benchmarks/web_load.py" + (f" --clients {' '.join(map(str, args.clients))}"
                                                     f" --seconds {args.seconds:g}"),
        "server": "grinlab serve (2 workers, default models smile+valence+emotion7, YuNet), separate process",
        "machine": {"cpus": os.cpu_count()},
        "levels": levels,
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
