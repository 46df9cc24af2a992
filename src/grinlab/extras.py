"""Which optional extra provides a module, and the one-line error when it is missing.

The inference core (numpy, OpenCV, ONNX Runtime, tqdm) runs analyze, demo, models, download,
live, gate and evaluate of ONNX models without plots. The rest lives in extras:
``train`` (torch, onnx, onnxscript, albumentations, matplotlib), ``web`` (fastapi, uvicorn, ...),
``torchvision`` (the zoo's torchvision backbones).
"""

from __future__ import annotations

import importlib.util

from .errors import GrinlabError

# top-level module -> the extra that installs it
EXTRA_OF = {
    "torch": "train", "onnx": "train", "onnxscript": "train", "albumentations": "train",
    "matplotlib": "train", "fastapi": "web", "uvicorn": "web", "starlette": "web",
    "multipart": "web", "python_multipart": "web", "websockets": "web", "torchvision": "torchvision", "ray": "ray",
}  # fmt: skip


def missing_extra_error(exc: ModuleNotFoundError, what: str = "this command") -> GrinlabError | None:
    """The one-line error for a module an extra provides (None for any other missing module)."""
    name = (exc.name or "").split(".")[0]
    extra = EXTRA_OF.get(name)
    if extra is None:
        return None
    return GrinlabError(
        f"{what} needs the {extra!r} extra ({name} is not installed): pip install 'grinlab[{extra}]'"
        + (" (install torch==2.13.0 first for the CPU build)" if extra == "train" else "")
    )


def require(*modules: str, what: str = "this command") -> None:
    """Raise the one-line error now, before anything is written, if a module is not installed."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise missing_extra_error(ModuleNotFoundError(name=module), what) or GrinlabError(
                f"{what} needs {module}, which is not installed"
            )
