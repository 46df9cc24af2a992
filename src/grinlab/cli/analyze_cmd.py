"""grinlab analyze: every face in images, folders and videos -> JSONL/CSV rows and annotated output."""

from __future__ import annotations

import argparse
import sys

from .options import add_analyzer_arguments

NAME = "analyze"
HELP = "find every face in images, folders (recursive) or videos and classify it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders or video files")
    p.add_argument(
        "--out", required=True, help="output folder (results.jsonl, results.csv, annotated/, timeline/)"
    )
    p.add_argument("--every", type=int, default=1, metavar="N", help="analyse every N-th video frame")
    p.add_argument("--csv", action="store_true", help="also write results.csv (one row per face and model)")
    p.add_argument("--no-annotate", action="store_true", help="do not write annotated images/videos")
    add_analyzer_arguments(p, stills=True, frames=True)
    p.add_argument("--legend", action="store_true",
                   help="number every face in annotated images and list their labels below the picture "
                        "(default: only faces whose label fits nowhere beside them)")  # fmt: skip
    p.add_argument(
        "--resume", action="store_true", help="continue a killed run in --out, skipping finished inputs"
    )
    p.add_argument("--force", action="store_true", help="overwrite results already in --out")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    g = p.add_argument_group("scale-out (pip install 'grinlab[ray]')")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: parts on Ray actors, video split into frame ranges")  # fmt: skip
    g.add_argument(
        "--address", help="a Ray cluster (`ray start --head` prints it); default: Ray started here"
    )
    g.add_argument(
        "--workers", type=int, help="Ray actors, each with its own loaded models (default: CPUs here)"
    )
    g.add_argument("--chunk-frames", type=int, default=300, metavar="N", help="video frames per Ray part")
    g.add_argument("--parquet", action="store_true",
                   help="also results.parquet/, one Parquet file per input (input=<path>), with --engine ray")  # fmt: skip


def run(args) -> int:
    import json

    from ..progress import progress_enabled
    from .options import analyzer_options

    options = analyzer_options(args)
    progress = progress_enabled()
    if args.engine == "ray":
        from ..scale.ray_driver import run_ray

        summary = run_ray(  # a missing ray extra is named in one line by grinlab.cli.main
            options, args.paths, args.out, every=args.every, write_csv=args.csv,
            annotate=False if args.no_annotate else ("legend" if args.legend else True), resume=args.resume,
            force=args.force, max_pixels=args.max_pixels, progress=progress, workers=args.workers,
            address=args.address, chunk_frames=args.chunk_frames, parquet=args.parquet,
        )  # fmt: skip
    else:
        summary = _run_local(args, options, progress)
    for error in summary.failed.values():
        print(f"grinlab analyze: failed: {error}", file=sys.stderr)
    if not args.json:
        from .summary import print_results

        print_results(summary.out_dir, summary.detector, summary.models)
    if args.json:
        print(json.dumps({"out": str(summary.out_dir), "inputs": summary.items, "frames": summary.frames,
                          "faces": summary.faces, "failed": summary.failed,
                          "skipped_done": summary.skipped_done}, indent=2))  # fmt: skip
    else:
        print(summary.line())
    return 0 if summary.ok else 1


def _run_local(args, options, progress):
    from ..batch import run_batch
    from ..pipeline import Analyzer

    with Analyzer(options) as analyzer:
        summary = run_batch(
            analyzer, args.paths, args.out, every=args.every, write_csv=args.csv,
            annotate=False if args.no_annotate else ("legend" if args.legend else True),
            resume=args.resume, force=args.force, max_pixels=args.max_pixels, progress=progress,
        )  # fmt: skip
        return summary
