"""Reproduce SmileRecognition's simple CNN on FER2013 happy vs neutral (reported: 86% dev, 88% test).

Protocol: train on FER2013 Training (happy -> smile, neutral -> no_smile), select the best epoch on
PublicTest (the "dev" set), report PrivateTest (test) once. Writes benchmarks/results/lab_reproduce.json.

    python benchmarks/lab_reproduce.py --data ../shared/data/fer2013/fer2013.csv.xz
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import bench_io

from grinlab.train.config import TrainConfig
from grinlab.train.trainer import train_run

HERE = Path(__file__).resolve().parent
REPORTED = {"dev_accuracy": 0.86, "test_accuracy": 0.88, "source": "SmileRecognition project README"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(HERE.parent.parent / "shared/data/fer2013/fer2013.csv.xz"))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--runs", default=str(HERE / "work" / "reproduce"))
    bench_io.add_output_options(p, "lab_reproduce.json")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.out = bench_io.output(args, "lab_reproduce.json")
    bench_io.require(args.data)

    config = TrainConfig(
        model="simple_cnn", task="happy_neutral", data=args.data, epochs=args.epochs, batch_size=64,
        optimizer="adam", lr=1e-3, scheduler="cosine", augment="light", patience=8, monitor="val_loss",
        seed=args.seed, evaluate_test=True,
    )  # fmt: skip
    command = shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv])
    t0 = time.perf_counter()
    summary = train_run(config, Path(args.runs) / f"simple_cnn_seed{args.seed}", force=True, command=command)
    seconds = time.perf_counter() - t0
    result = {
        "benchmark": "SmileRecognition simple CNN, FER2013 happy vs neutral",
        "command": command,
        "protocol": "train=Training (happy/neutral), select on PublicTest (dev), report PrivateTest (test)",
        "config": config.to_dict(),
        "reported": REPORTED,
        "measured": {
            "dev_accuracy": summary.metrics["val"]["accuracy"],
            "dev_macro_f1": summary.metrics["val"]["macro_f1"],
            "test_accuracy": summary.metrics["test"]["accuracy"],
            "test_macro_f1": summary.metrics["test"]["macro_f1"],
            "best_epoch": summary.best_epoch,
            "epochs_run": summary.epochs_run,
            "train_seconds": round(seconds, 1),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "run_dir": str(summary.run_dir),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["measured"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
