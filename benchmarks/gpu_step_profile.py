"""Where a GPU training step of the lab spends its time: milliseconds per batch of the augmentation
(``TensorAugmenter``, one preset) and of the optimisation step of a zoo network, as the trainer did
it before (float16 autocast with a loss scaler, the loss read back every step, cuDNN's default
algorithms) and as it does now (bfloat16, no read-back, cuDNN benchmark mode), then with channels-last
memory, the fused optimiser and ``--compile reduce-overhead`` (CUDA graphs) added one at a time. Synthetic uint8 48x48 crops (the cost of these ops does not depend on the pixels).
Needs a CUDA GPU; writes JSON to --out.

    python benchmarks/gpu_step_profile.py --out /tmp/profile.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from grinlab.train.tensor_augment import TensorAugmenter
from grinlab.train.zoo import create_model

# each variant adds one change to the one before it, from "now" on; "before" is the lab until 2026-11-28
VARIANTS = ("before", "now", "now_channels_last", "now_fused", "now_compiled", "now_compiled_with_augment")


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, steps: int, warmup: int = 15) -> float:
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    sync()
    return round((time.perf_counter() - t0) / steps * 1000, 3)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["vgg_paper", "resnet18", "resnet_tiny"])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--preset", default="standard")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--device", default="cuda", help="cuda; cpu only to smoke-test this script")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_step_profile.py: torch sees no CUDA GPU here (--device cpu only smoke-tests it)",
            file=sys.stderr,
        )
        return 2
    n, b = 28_698, args.batch_size
    images = torch.randint(0, 256, (n, 48, 48), dtype=torch.uint8, device=dev)
    labels = torch.randint(0, 7, (n,), device=dev)
    aug = TensorAugmenter(args.preset, seed=0)
    state = {"i": 0}

    def batch():
        state["i"] = (state["i"] + 1) % (n // b)
        idx = torch.arange(state["i"] * b, (state["i"] + 1) * b, device=dev)
        return idx

    def augment_only():
        idx = batch()
        return aug(images[idx], idx, 1)

    result = {"device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu", "torch": torch.__version__, "batch_size": b,
              "preset": args.preset, "augment_ms": timed(augment_only, args.steps, args.warmup), "models": {}}  # fmt: skip
    print(json.dumps(result), flush=True)
    fixed_x = augment_only()
    for name in args.models:
        row = {}
        for variant in VARIANTS:
            torch.backends.cudnn.benchmark = variant != "before"
            model = create_model(name, num_classes=7, in_chans=1, input_size=(48, 48)).to(dev)
            x = fixed_x
            later = VARIANTS[VARIANTS.index("now_channels_last") :]
            if variant in later:
                model = model.to(memory_format=torch.channels_last)
                x = fixed_x.contiguous(memory_format=torch.channels_last)
            fused = {"fused": True} if variant in later[1:] else {}
            opt = torch.optim.SGD(
                model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4, **fused
            )
            forward = model
            if variant in later[2:]:
                forward = torch.compile(model, mode="reduce-overhead")
            fp16 = variant == "before"
            scaler = torch.amp.GradScaler(dev.type, enabled=fp16 and dev.type == "cuda")
            dtype = torch.float16 if fp16 else torch.bfloat16
            total = torch.zeros((), device=dev)

            def step(
                forward=forward,
                compiled=forward is not model,
                x=x,
                opt=opt,
                scaler=scaler,
                dtype=dtype,
                fp16=fp16,
                variant=variant,
            ):
                nonlocal total
                idx = batch()
                xb = augment_only() if variant == "now_compiled_with_augment" else x
                if compiled:
                    torch.compiler.cudagraph_mark_step_begin()
                with torch.autocast(dev.type, dtype=dtype):
                    loss = F.cross_entropy(forward(xb).float(), labels[idx], label_smoothing=0.1)
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                if fp16:
                    float(loss.detach())  # the read-back the trainer did every step
                else:
                    total = total + loss.detach()

            row[variant + "_ms"] = timed(step, args.steps, args.warmup)
        row["images_per_s_before"] = round(b / row["before_ms"] * 1000)
        row["images_per_s_now_compiled_with_augment"] = round(b / row["now_compiled_with_augment_ms"] * 1000)
        result["models"][name] = row
        print(name, json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
