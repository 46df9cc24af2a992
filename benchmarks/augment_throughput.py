"""Augmented images/s of each preset, 48x48 grey real face crops (SMILEsmileD), measured in one run:

- albumentations: ``FaceTorchDataset[i]`` one image at a time in one process -- exactly the work a
  DataLoader worker does per item for ``--augment-on cpu`` (augment, normalise, to a tensor);
- tensor, CPU: ``TensorAugmenter`` on whole batches in this process (``--augment-on device`` on CPU);
- tensor, CUDA: the same on the GPU with the crops already there, when torch sees one.

Writes benchmarks/results/augment_throughput.json (a --quick smoke run writes only to an explicit --out).

    python benchmarks/augment_throughput.py
    python benchmarks/augment_throughput.py --quick --out /tmp/aug.json
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
import cv2
import numpy as np
import torch

from grinlab.data.dataset import FaceDataset
from grinlab.preprocess import Preprocessing
from grinlab.train.augment_presets import PRESETS
from grinlab.train.tensor_augment import TensorAugmenter
from grinlab.train.torch_data import FaceTorchDataset

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("GRINLAB_SHARED", HERE.parent.parent / "shared"))


def load_crops(root: Path, n: int) -> FaceDataset:
    """The first n/2 smiling and n/2 non-smiling SMILEsmileD crops (64x64 jpgs)."""
    images, labels, sources = [], [], []
    for label, folder in enumerate(["negatives/negatives7", "positives/positives7"]):
        for path in sorted((root / "SMILEs" / folder).glob("*.jpg"))[: n // 2]:
            images.append(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
            labels.append(label)
            sources.append(str(path))
    return FaceDataset("smilesmiled", "smile", ("no_smile", "smile"), images, np.array(labels), sources)


def per_image_rate(ds: FaceTorchDataset, seconds: float) -> float:
    """Items/s of the DataLoader worker's per-item work, cycling through epochs as needed."""
    ds[0]  # warm-up
    n, epoch, t0 = 0, 1, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            ds[i]
            n += 1
            if n % 256 == 0 and time.perf_counter() - t0 >= seconds:
                break
        epoch += 1
    return n / (time.perf_counter() - t0)


def batched_rate(aug: TensorAugmenter, images: np.ndarray, batch: int, seconds: float, device) -> float:
    """Images/s of batched tensor augmentation + normalisation with the crops already on ``device``."""
    data = torch.from_numpy(images).to(device)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    aug(data[order[:batch]], order[:batch], 0)  # warm-up
    sync()
    n, epoch, t0 = 0, 1, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for start in range(0, len(data), batch):
            idx = order[start : start + batch]
            aug(data[idx], idx, epoch)
            n += len(idx)
        sync()
        epoch += 1
    return n / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(SHARED / "data" / "smilesmiled"), help="SMILEsmileD folder")
    p.add_argument("--n", type=int, default=2048, help="crops to augment (half smiling)")
    p.add_argument("--batch", type=int, default=128, help="tensor path batch (the lab's FER2013 recipe)")
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per preset and path")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads of the tensor path (default 1, as one loader worker; on a shared CPU "
        "more threads can be many times slower)",
    )
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    p.add_argument("--quick", action="store_true", help="0.5 s per measurement, for a smoke test")
    p.add_argument("--notes", default="", help="free text stored with the results (e.g. machine load)")
    bench_io.add_output_options(p, "augment_throughput.json")  # --quick writes only to an explicit --out
    args = p.parse_args(argv)
    root = Path(args.data)
    if not (root / "SMILEs").is_dir():
        print(f"{root}: SMILEsmileD not found (needs <data>/SMILEs); pass --data DIR", file=sys.stderr)
        return 2
    seconds = 0.5 if args.quick else args.seconds
    out = args.out or (None if args.quick else bench_io.output(args, "augment_throughput.json"))
    spec = Preprocessing(size=(48, 48), channels=1, normalization="per_image")
    faces = load_crops(root, args.n)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"{len(faces)} crops at 48x48 grey; tensor path on {', '.join(map(str, devices))}", file=sys.stderr)
    rows = []
    for preset in args.presets:
        ds = FaceTorchDataset(faces, spec, preset, seed=0)
        aug = TensorAugmenter(preset, 0, spec)
        torch.set_num_threads(1)  # a DataLoader worker runs torch single-threaded
        row = {"preset": preset, "albumentations_per_image_img_per_s": round(per_image_rate(ds, seconds), 1)}
        torch.set_num_threads(args.threads)
        for device in devices:
            rate = batched_rate(aug, ds.images, args.batch, seconds, device)
            row[f"tensor_{device.type}_batched_img_per_s"] = round(rate, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "setup": f"{len(faces)} SMILEsmileD crops fitted to 48x48 grey, per_image normalisation; "
        f"albumentations: FaceTorchDataset[i] one at a time, 1 process, torch 1 thread; tensor: "
        f"TensorAugmenter on batches of {args.batch}, crops already on the device, "
        f"{args.threads} torch CPU thread(s); each {seconds:g} s after a warm-up",
        "notes": args.notes,
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "albumentations": __import__("albumentations").__version__,
        },
        "rows": rows,
    }
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
