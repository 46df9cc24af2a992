"""Dependency audit: are the project's dependency floors above the advisories known to affect it,
and is what is installed here above them? Writes benchmarks/results/dependency_audit.json.

    python benchmarks/dependency_audit.py

Two parts. (1) pip-audit, when installed, over this environment: it needs its vulnerability
service (PyPI's JSON API or OSV); offline it cannot audit, and the result says so instead of
"no vulnerabilities". (2) A table of advisories that concern grinlab's direct dependencies (and two
transitive ones its web extra exposes), each with the first fixed version: the check fails when a
floor in pyproject.toml still allows a vulnerable version, or when the installed version is one.
Add a row when an advisory appears; pip-audit's output (where it can run) is the way to notice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import bench_io
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# (distribution, advisory, first fixed version, what it is)
ADVISORIES = [
    ("opencv-python-headless", "CVE-2025-53644", "4.12.0", "out-of-bounds write decoding a crafted JPEG"),
    ("tqdm", "CVE-2024-34062", "4.66.3", "code evaluation from CLI arguments"),
    ("torch", "CVE-2025-32434", "2.6.0", "torch.load(weights_only=True) can still run code"),
    ("onnx", "CVE-2024-27318", "1.16.0", "path traversal through external data"),
    ("onnx", "CVE-2024-27319", "1.16.0", "out-of-bounds read"),
    ("pillow", "CVE-2024-28219", "10.3.0", "buffer overflow in _imagingcms"),
    ("python-multipart", "CVE-2024-24762", "0.0.7", "ReDoS in the Content-Type parser"),
    ("python-multipart", "CVE-2024-53981", "0.0.18", "DoS through data before the first boundary"),
    ("starlette", "CVE-2024-47874", "0.40.0", "unbounded multipart fields without a filename"),
    ("h11", "CVE-2025-43859", "0.16.0", "lenient chunked-encoding parsing (request smuggling)"),
]


def floors() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    return {Requirement(r).name.lower(): Requirement(r) for r in reqs}


def check_floors() -> list[dict]:
    declared = floors()
    rows = []
    for dist, advisory, fixed, what in ADVISORIES:
        req = declared.get(dist)
        fixed_v = Version(fixed)
        # a pre-release of the fix sorts below it and above every vulnerable release
        allows_vulnerable = req is None or req.specifier.contains(Version(f"{fixed}a0"), prereleases=True)
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            installed = None
        rows.append({"package": dist, "advisory": advisory, "fixed_in": fixed, "what": what,
                     "floor": str(req.specifier) if req else "(not declared)",
                     "floor_excludes_vulnerable": not allows_vulnerable and req is not None,
                     "installed": installed,
                     "installed_ok": installed is None or Version(installed.split("+")[0]) >= fixed_v})  # fmt: skip
    return rows


def run_pip_audit() -> dict:
    try:
        done = subprocess.run([sys.executable, "-m", "pip_audit", "-l", "-f", "json", "--progress-spinner", "off"],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return {"ran": False, "why": type(exc).__name__}
    if "No module named pip_audit" in done.stderr:
        return {"ran": False, "why": "pip-audit is not installed (pip install pip-audit)"}
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"ran": False, "why": done.stderr.strip()[-300:]}
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulns = [{"package": d["name"], "version": d.get("version"), "ids": [v["id"] for v in d.get("vulns", [])]}
             for d in deps if d.get("vulns")]  # fmt: skip
    audited = len(deps) - len(skipped)
    return {"ran": True, "packages": len(deps), "audited": audited, "skipped": len(skipped),
            "vulnerabilities": vulns,
            "verdict": "could not audit: the vulnerability service was unreachable for every package"
            if audited == 0 else f"{len(vulns)} vulnerable package(s) among {audited} audited"}  # fmt: skip


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_io.add_output_options(p, "dependency_audit.json")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "dependency_audit.json")
    rows = check_floors()
    out = {"command": "python benchmarks/dependency_audit.py", "date": time.strftime("%Y-%m-%d"),
           "advisories": rows, "pip_audit": run_pip_audit()}  # fmt: skip
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    bad = [r for r in rows if not (r["floor_excludes_vulnerable"] and r["installed_ok"])]
    for r in rows:
        mark = "BAD" if r in bad else "ok "
        print(
            f"{mark} {r['package']:24s} {r['advisory']:15s} fixed {r['fixed_in']:8s} floor {r['floor']:14s} installed {r['installed']}"
        )
    print("pip-audit:", out["pip_audit"].get("verdict", out["pip_audit"].get("why")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
