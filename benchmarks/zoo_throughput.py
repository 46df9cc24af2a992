"""Training throughput (images/s) and ONNX Runtime inference cost (ms/face, batched) of every zoo
network on this machine, 48x48 grey input, 2 classes. Writes benchmarks/results/zoo_throughput.json.

    python benchmarks/zoo_throughput.py            # every native zoo model
    python benchmarks/zoo_throughput.py --quick --models simple_cnn resnet_tiny
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

import numpy as np
import onnxruntime as ort
import torch

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--models", nargs="+", default=[m for m in list_models() if not m.startswith("torchvision_")]
    )
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seconds", type=float, default=8.0, help="timed training per model")
    p.add_argument("--quick", action="store_true", help="1 s per model, for a smoke test")
    p.add_argument("--out", default=str(HERE / "results" / "zoo_throughput.json"))
    args = p.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    torch.set_num_threads(os.cpu_count() or 1)
    rows = []
    for name in args.models:
        torch.manual_seed(0)
        model = create_model(name, 2)
        ms, size = onnx_ms_per_face(model, 256, threads=os.cpu_count() or 1)
        ms1, _ = onnx_ms_per_face(model, 256, threads=1)
        row = {"model": name, "params": count_params(model), "onnx_bytes": size,
               "train_img_per_s": round(train_throughput(model, args.batch, seconds), 1),
               "onnx_ms_per_face_batch256": round(ms, 4), "onnx_ms_per_face_batch256_1thread": round(ms1, 4)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    doc = {
        "command": shlex.join(["python", *sys.argv]),
        "setup": f"48x48 grey, 2 classes; training: batch {args.batch}, SGD, {seconds:.0f} s after warm-up; "
        "inference: ONNX Runtime CPU, batch 256, median of 10",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
        },  # fmt: skip
        "rows": rows,
    }
    if not args.quick:
        Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
