"""grinlab compare: one row per training run (best epoch, val loss/acc, train loss/acc, params, speed)."""

from __future__ import annotations

import argparse
import json

NAME = "compare"
HELP = "compare training runs in one table (Markdown, CSV or JSON)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders from `grinlab train`")
    p.add_argument("--out", metavar="TABLE.md", help="write the Markdown table here")
    p.add_argument("--csv", metavar="TABLE.csv", help="write the table as CSV here")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of Markdown")
    p.add_argument("--no-timing", action="store_true", help="do not time exported ONNX models")


def run(args) -> int:
    from ..evaluate.compare import compare_runs, markdown_table, write_table

    rows = compare_runs(args.runs, time_onnx=not args.no_timing)
    if args.out:
        write_table(rows, args.out, "markdown")
    if args.csv:
        write_table(rows, args.csv, "csv")
    print(
        json.dumps(rows, indent=2) if args.json else markdown_table(rows), end="" if not args.json else "\n"
    )
    return 0
