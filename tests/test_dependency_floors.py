"""The dependency floors in pyproject.toml stay above the advisories benchmarks/dependency_audit.py
lists (offline; the pip-audit half of that script needs its vulnerability service)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from dependency_audit import check_floors  # noqa: E402


def test_every_floor_excludes_the_versions_an_advisory_names():
    rows = check_floors()
    assert {r["advisory"] for r in rows} >= {"CVE-2025-53644", "CVE-2025-32434"}
    bad = [f"{r['package']} {r['floor']} allows {r['advisory']} (fixed in {r['fixed_in']})"
           for r in rows if not r["floor_excludes_vulnerable"]]  # fmt: skip
    assert not bad, bad
    old = [f"{r['package']} {r['installed']} < {r['fixed_in']}" for r in rows if not r["installed_ok"]]
    assert not old, old
