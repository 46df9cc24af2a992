"""Compare zoo architectures on one task within a CPU budget (the 5-architecture table the
Smile Recognition comparison made by hand).

Default: SMILEsmileD smile vs not, our seeded 85/15 stratified split (seed 0), 48x48 grey,
per-image normalisation, light augmentation, the same schedule for every net. Each run is exported
to ONNX (parity-checked) so ms/face is ONNX Runtime batched inference. Writes
benchmarks/results/lab_compare.{md,csv,json}.

    python benchmarks/lab_compare.py --epochs 8 --models simple_cnn mini_xception resnet_tiny vgg_small
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import bench_io

from grinlab.train.config import TrainConfig
from grinlab.train.trainer import train_run

HERE = Path(__file__).resolve().parent
DEFAULT_MODELS = [
    "simple_cnn",
    "mini_xception",
    "resnet_tiny",
    "densenet_small",
    "inception_small",
    "vgg_small",
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(HERE.parent.parent / "shared/data/smilesmiled"))
    p.add_argument("--task", default="smile")
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--runs", default=str(HERE / "work" / "compare"))
    bench_io.add_output_options(p, "lab_compare")
    p.add_argument("--table-only", action="store_true", help="no training: table the finished runs in --runs")
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "lab_compare")
    bench_io.require(args.data)

    from grinlab.evaluate.compare import compare_runs, write_table
    from grinlab.train.export import export_onnx

    command = shlex.join(["python", *sys.argv])
    run_dirs, seconds = [], {}
    for name in [] if args.table_only else args.models:
        config = TrainConfig(
            model=name, task=args.task, data=args.data, epochs=args.epochs, batch_size=64, optimizer="adam",
            lr=1e-3, scheduler="cosine", augment="light", seed=0,
        )  # fmt: skip
        run_dir = Path(args.runs) / name
        t0 = time.perf_counter()
        train_run(config, run_dir, force=True, command=command)
        export_onnx(run_dir, run_dir / "model.onnx", name=name, force=True)
        seconds[name] = round(time.perf_counter() - t0, 1)
        run_dirs.append(run_dir)

    # Every finished (exported) run in --runs, in the order of --models, then any others.
    finished = {d.name: d for d in Path(args.runs).iterdir() if (d / "model.onnx").is_file()}
    run_dirs = [finished.pop(m) for m in args.models if m in finished] + sorted(finished.values())
    rows = compare_runs(run_dirs)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_table(rows, out.with_suffix(".md"), fmt="markdown")
    write_table(rows, out.with_suffix(".csv"), fmt="csv")
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "command": command,
                "protocol": f"{args.data}, task {args.task}, seeded 85/15 stratified split (seed 0), "
                f"{args.epochs} epochs, adam 1e-3 cosine, light augmentation, 48x48 grey",
                "cpus": os.cpu_count(),
                "wall_seconds_train_and_export": seconds or "see each run's metrics.jsonl",
                "rows": rows,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
