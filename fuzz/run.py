"""Run each fuzzing harness for a fixed number of inputs and write what happened to
benchmarks/results/fuzz.json (with --update-results; else benchmarks/work/results/): inputs tried, seconds, peak memory, and the findings (libFuzzer's
crash-, timeout- and oom- artifacts, kept in fuzz/findings/).

    python fuzz/run.py --runs 1000000 --update-results

A finding stops its harness (libFuzzer's rule); fix it, add the input to tests/data/fuzz/ as a
regression test, and run again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESSES = {
    "image decoding (decode_image: header checks, OpenCV decoders)": ("fuzz_images.py", "images", 65536),
    "FER2013 csv parser (parse_rows)": ("fuzz_fer_csv.py", "fer_csv", 32768),
    "model cards and gate TOML configs (ModelCard.from_json, parse_config)": (
        "fuzz_configs.py",
        "configs",
        4096,
    ),
}


def run(script: str, corpus: str, max_len: int, runs: int) -> dict:
    findings = HERE / "findings" / corpus
    findings.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, str(HERE / script), f"-runs={runs}", f"-max_len={max_len}", "-timeout=10",
            "-rss_limit_mb=2048", "-print_final_stats=1", f"-artifact_prefix={findings}/", str(HERE / "corpus" / corpus)]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OPENCV_LOG_LEVEL": "SILENT"}
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    log = done.stdout + done.stderr
    (HERE / "findings" / f"{corpus}.log").write_text(log[-200_000:])

    def stat(name: str) -> int | None:
        m = re.search(rf"stat::{name}:\s+(\d+)", log)
        return int(m.group(1)) if m else None

    artifacts = sorted(
        p.name for p in findings.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-", "leak-"))
    )
    return {
        "inputs": stat("number_of_executed_units"),
        "seconds": round(seconds, 1),
        "peak_rss_mb": stat("peak_rss_mb"),
        "exit_code": done.returncode,
        "crashes": [a for a in artifacts if a.startswith("crash-")],
        "hangs": [a for a in artifacts if a.startswith("timeout-")],
        "out_of_memory": [a for a in artifacts if a.startswith(("oom-", "leak-"))],
        "corpus_files": len(list((HERE / "corpus" / corpus).iterdir())),
        "command": " ".join(["python", f"fuzz/{script}", *args[2:-2], f"fuzz/corpus/{corpus}"]),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200_000, help="inputs per harness (default 200,000)")
    sys.path.insert(0, str(HERE.parent / "benchmarks"))
    import bench_io

    bench_io.add_output_options(p, "fuzz.json")
    args = p.parse_args(argv)
    args.out = Path(bench_io.output(args, "fuzz.json"))
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzzing needs atheris: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    import cv2

    results = {}
    for target, (script, corpus, max_len) in HARNESSES.items():
        results[target] = run(script, corpus, max_len, args.runs)
        print(target, json.dumps(results[target]))
    report = {"command": f"python fuzz/run.py --runs {args.runs} --update-results", "date": time.strftime("%Y-%m-%d"),
              "machine": {"python": platform.python_version(), "opencv": cv2.__version__, "cpus": os.cpu_count()},
              "harnesses": results}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(r["exit_code"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
