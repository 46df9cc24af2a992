"""Training throughput (images/s) and ONNX Runtime inference cost (ms/face, batched) of every zoo
network on this machine, 48x48 grey input, 2 classes, batch 64. Writes
benchmarks/results/zoo_throughput.json (a --quick smoke run writes only to an explicit --out).

    python benchmarks/zoo_throughput.py            # every registered model (torchvision ones if installed)
    python benchmarks/zoo_throughput.py --quick --models simple_cnn resnet_tiny --out /tmp/zoo.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import bench_io
import numpy as np
import onnxruntime as ort
import torch

from grinlab.errors import GrinlabError
from grinlab.train.zoo import count_params, create_model, list_models

HERE = Path(__file__).resolve().parent


def train_throughput(model, batch: int, seconds: float) -> float:
    x = torch.randn(batch, 1, 48, 48)
    y = torch.randint(0, 2, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):  # warm-up
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += batch
    return n / (time.perf_counter() - t0)


def onnx_ms_per_face(model, batch: int, threads: int) -> tuple[float, int]:
    model.eval()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.onnx"
        torch.onnx.export(model, (torch.randn(1, 1, 48, 48),), str(path), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}}, opset_version=17, dynamo=False)  # fmt: skip
        size = path.stat().st_size
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((batch, 1, 48, 48)).astype(np.float32)
    for _ in range(3):
        sess.run(None, {"input": x})
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        sess.run(None, {"input": x})
        times.append((time.perf_counter() - t0) * 1e3 / batch)
    return float(np.median(times)), size


def default_models() -> list[str]:
    try:
        import torchvision  # noqa: F401

        return list_models()
    except Exception:  # optional backbones: benchmark them only where torchvision works
        return [m for m in list_models() if not m.startswith("torchvision_")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=None, help="default: every registered model")
    p.add_argument("--batch", type=int, default=64, help="training and inference batch")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch and ONNX Runtime threads")
    p.add_argument("--seconds", type=float, default=8.0, help="timed training per model")
    p.add_argument("--quick", action="store_true", help="1 s per model, for a smoke test")
    bench_io.add_output_options(p, "zoo_throughput.json")  # --quick writes only to an explicit --out
    args = p.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    out = args.out or (None if args.quick else bench_io.output(args, "zoo_throughput.json"))
    torch.set_num_threads(args.threads)
    rows = []
    for name in args.models or default_models():
        torch.manual_seed(0)
        try:
            model = create_model(name, 2, in_chans=1, input_size=(48, 48))
        except GrinlabError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
        ms, size = onnx_ms_per_face(model, args.batch, threads=args.threads)
        ms1, _ = onnx_ms_per_face(model, args.batch, threads=1)
        row = {"model": name, "params": count_params(model), "onnx_bytes": size,
               "train_img_per_s": round(train_throughput(model, args.batch, seconds), 1),
               "onnx_ms_per_face": round(ms, 4), "onnx_ms_per_face_1thread": round(ms1, 4)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "setup": f"48x48 grey, 2 classes; training: batch {args.batch}, SGD, {seconds:g} s after warm-up, "
        f"{args.threads} torch threads; inference: ONNX Runtime CPU, batch {args.batch}, "
        f"{args.threads} and 1 intra-op threads, median of 10 runs, ms per face",
        "quick": args.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        },  # fmt: skip
        "rows": rows,
    }
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
