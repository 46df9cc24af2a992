"""What every benchmark shares about its inputs and outputs.

- A benchmark writes to benchmarks/work/results/ (git-ignored) unless asked with
  ``--update-results`` to replace the committed file in benchmarks/results/, or given ``--out``:
  a trial run never overwrites the numbers the README quotes.
- Missing data (../shared, or GRINLAB_SHARED) is one line on stderr and exit code 2, never a
  traceback from deep inside.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCRATCH = HERE / "work" / "results"
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))


def add_output_options(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--out", help=f"write here (default: benchmarks/work/results/{name}; with --update-results "
                                 f"the committed benchmarks/results/{name})")  # fmt: skip
    p.add_argument("--update-results", action="store_true",
                   help=f"replace the committed benchmarks/results/{name} (the README's numbers)")  # fmt: skip


def output(args: argparse.Namespace, name: str) -> str:
    """Where this run writes ``name`` (a file, or a stem for several files)."""
    if args.out:
        return args.out
    folder = RESULTS if args.update_results else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    if not args.update_results:
        print(f"writing to {folder / name} (pass --update-results to replace benchmarks/results/{name})",
              file=sys.stderr)  # fmt: skip
    return str(folder / name)


def require(*paths: str | os.PathLike, what: str = "") -> None:
    """Exit with one line when an input is missing."""
    for path in paths:
        if not Path(path).exists():
            hint = what or "the shared data folder; set GRINLAB_SHARED to where it is"
            print(f"{Path(sys.argv[0]).name}: {path} not found ({hint})", file=sys.stderr)
            sys.exit(2)


def write_results(stem: str | os.PathLike, doc: dict, lines: list[str]) -> None:
    """``stem``.json (``doc``) and ``stem``.md (``lines``), the pair most benchmarks write."""
    import json

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {stem}.json and {stem}.md")
