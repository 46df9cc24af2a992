"""ms/face of several models timed in alternation, round after round, in one run.

    python benchmarks/cost_rounds.py emotion7 benchmarks/work/previous_int8/emotion7_previous.onnx --rounds 5

This VM's speed drifts by up to 2x between days and by 20% within minutes, so a cost is only
compared with another measured in the same run; alternating the files each round spreads a slow
minute over all of them. Each measurement is ``grinlab.evaluate.compare.onnx_ms_per_face`` (ONNX
Runtime, batch of 64 faces already at the model's input size, median of 30), with 2 threads and
with 1. A name without ``.onnx`` is a shipped model. Writes cost_rounds.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

import bench_io

from grinlab.evaluate.compare import onnx_ms_per_face
from grinlab.shipped import shipped_models


def alternated_ms(paths: dict, rounds: int, threads=(2, 1), log: bool = False) -> dict:
    """{name: {threads: [ms/face each round]}}: every file timed in turn, round after round."""
    ms = {m: {t: [] for t in threads} for m in paths}
    for r in range(rounds):
        for t in threads:
            for m, path in paths.items():
                ms[m][t].append(round(onnx_ms_per_face(path, 64, 30, threads=t), 4))
        if log:
            print(
                f"round {r + 1}: " + ", ".join(f"{m} {ms[m][threads[0]][-1]:.3f}" for m in paths), flush=True
            )
    return ms


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "models", nargs="+", metavar="MODEL", help="shipped model names or .onnx files (with cards)"
    )
    p.add_argument("--rounds", type=int, default=5)
    bench_io.add_output_options(p, "cost_rounds")
    args = p.parse_args(argv)
    out = Path(bench_io.output(args, "cost_rounds"))
    shipped = shipped_models()
    paths = {}
    for m in args.models:
        path = Path(m) if m.endswith(".onnx") else shipped.get(m)
        if path is None or not Path(path).is_file():
            print(f"{Path(sys.argv[0]).name}: {m}: not a shipped model or an .onnx file", file=sys.stderr)
            return 2
        paths[m] = path
    ms = alternated_ms(paths, args.rounds, log=True)
    rows = [{"model": m, "ms_per_face_2_threads": v[2], "ms_per_face_1_thread": v[1],
             "median_2_threads": statistics.median(v[2]), "median_1_thread": statistics.median(v[1])}
            for m, v in ms.items()]  # fmt: skip
    doc = {"command": " ".join(["python", *sys.argv]), "rounds": args.rounds,
           "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "cost": "ONNX Runtime CPU, batch of 64 faces at the model's input size, median of 30 per measurement",
           "rows": rows}  # fmt: skip
    lines = [f"# ms/face, {args.rounds} rounds alternated ({doc['measured']})", "",
             f"{doc['cost']}. Made with `{doc['command']}`.", "",
             "| model | median, 2 threads | each round, 2 threads | median, 1 thread | each round, 1 thread |",
             "|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['model']} | {r['median_2_threads']:.3f} | {', '.join(f'{v:.3f}' for v in r['ms_per_face_2_threads'])} | "
                     f"{r['median_1_thread']:.3f} | {', '.join(f'{v:.3f}' for v in r['ms_per_face_1_thread'])} |")  # fmt: skip
    bench_io.write_results(out, doc, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
