"""Where a run computes: the torch device a ``--device`` name means, mixed precision (AMP) on it, and
how its training step runs there (cuDNN tuning, memory layout, ``--compile``).

Where a run *augments* (``--augment-on``) is ``device_data.resolve_augment_on``.
"""

from __future__ import annotations

import shutil

import torch

from ..errors import GrinlabError


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu``, ``cuda`` or any torch device name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GrinlabError("device cuda requested but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def use_amp(requested: bool, device: torch.device) -> bool:
    """Mixed precision runs only where ``--amp`` asks for it and the device is CUDA."""
    return requested and device.type == "cuda"


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast type of an AMP run: bfloat16 where the GPU has it (float32's range, so no loss
    scaling, whose overflow check reads the GPU back every step), else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """The loss scaler of a float16 AMP run; a pass-through (still checkpointed) otherwise."""
    return torch.amp.GradScaler(device.type, enabled=amp and amp_dtype(device) == torch.float16)


def tune_for(device: torch.device) -> None:
    """Let cuDNN time its convolution algorithms once per input shape and keep the fastest: a run's
    shapes are fixed (one batch size, one crop size), and its default guesses were slower."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def memory_format(device: torch.device) -> torch.memory_format:
    """Channels-last weights on a GPU: its mixed-precision convolutions then skip layout transposes
    (an H200 step of vgg_paper at batch 128: 5.5 instead of 6.7 ms; benchmarks/gpu_step_profile.py).
    The CPU keeps torch's default layout."""
    return torch.channels_last if device.type == "cuda" else torch.preserve_format


def compiled_step(model: torch.nn.Module, mode: str, device: torch.device):
    """What the training step calls (``--compile MODE``): ``model`` itself, or torch.compile's wrapper
    of it. The wrapper shares the parameters, so the optimiser, checkpoints and export keep using
    ``model`` (no ``_orig_mod.`` names), and validation runs it uncompiled. reduce-overhead replays
    the step as CUDA graphs: at batch 128 a GPU step of the zoo's small nets is bound by kernel
    launches, not arithmetic (an H200 step of vgg_paper is 5.5 ms; benchmarks/gpu_step_profile.py)."""
    if mode == "none":
        return model
    # torch compiles at the first batch, so a missing toolchain would surface mid-epoch as a long
    # traceback: check for it here, before anything is written
    if device.type == "cuda":
        import importlib.util

        if importlib.util.find_spec("triton") is None:
            raise GrinlabError(
                f"--compile {mode} on CUDA needs triton (pip install triton); or drop --compile"
            )
    elif not any(shutil.which(cc) for cc in ("c++", "g++", "clang++")):
        raise GrinlabError(
            f"--compile {mode} on the CPU needs a C++ compiler (c++, g++ or clang++ on PATH); or drop --compile"
        )
    return torch.compile(model, mode=mode)


def mark_step(step_model, model) -> None:
    """Tell CUDA graphs (``--compile reduce-overhead``) that a new training step begins, so the
    previous step's graph outputs may be overwritten; nothing to do for an uncompiled step."""
    if step_model is not model:
        torch.compiler.cudagraph_mark_step_begin()
