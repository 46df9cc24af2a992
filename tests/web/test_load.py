"""A short bounded load on loopback: concurrent clients for a fixed time, zero errors.
(The numbers live in benchmarks/web_load.py -> benchmarks/results/web_load.json.)"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_concurrent_clients_get_answers_and_no_errors(server_url, photos_dir):
    sys.path.insert(0, str(BENCH))
    from speed_frames import frames
    from web_load import load

    result = load(server_url, frames(photos_dir), clients=6, seconds=4)
    assert result["requests"] >= 12
    assert result["errors"] == 0, result["error_kinds"]
