"""Where a run computes: the torch device a ``--device`` name means, and mixed precision (AMP) on it.

Where a run *augments* (``--augment-on``) is ``device_data.resolve_augment_on``.
"""

from __future__ import annotations

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


def grad_scaler(device: torch.device, amp: bool) -> torch.amp.GradScaler:
    """The loss scaler of an AMP run; a pass-through (still checkpointed) when ``amp`` is off."""
    return torch.amp.GradScaler(device.type, enabled=amp)
