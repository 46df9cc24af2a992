"""grinlab demo: analyse the bundled public-domain photos with the embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "demo"
HELP = "analyse the bundled photos with the default detector and models, and say where the results are"
PHOTOS = Path(__file__).resolve().parents[1] / "demo_photos"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="grinlab-demo", help="output folder (default: ./grinlab-demo)")
    p.add_argument("--detector", default="auto", help="face detector (default: auto)")


def run(args) -> int:
    from ..batch import run_batch
    from ..pipeline import Analyzer, AnalyzerOptions
    from ..shipped import default_models
    from .summary import print_results

    models = default_models()
    photos = sorted(PHOTOS.glob("*.jpg"))
    with Analyzer(AnalyzerOptions(detector=args.detector, models=models)) as analyzer:
        summary = run_batch(analyzer, photos, args.out, write_csv=True, force=True, progress=False)
        detector = analyzer.detector_name
    out = Path(args.out)
    print_results(out, detector, [Path(m).stem for m in models])
    print(f"annotated images: {out / 'annotated'}")
    print(f"per-face rows:    {out / 'results.jsonl'} and {out / 'results.csv'}")
    return 0 if summary.ok else 1
