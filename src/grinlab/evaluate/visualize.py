"""Look inside a trained network (torch): first-layer filters and the feature maps of one face,
stage by stage (SmileRecognition did this for its simple CNN)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def _tile(maps: np.ndarray, cell: int, cols: int | None = None) -> np.ndarray:
    """(N, h, w) float maps -> one uint8 grid image, each map min-max scaled."""
    n = len(maps)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    grid = np.full((rows * (cell + 2), cols * (cell + 2)), 255, np.uint8)
    for k, m in enumerate(maps):
        lo, hi = float(m.min()), float(m.max())
        img = ((m - lo) / (hi - lo + 1e-8) * 255).astype(np.uint8)
        img = cv2.resize(img, (cell, cell), interpolation=cv2.INTER_NEAREST)
        r, c = divmod(k, cols)
        grid[r * (cell + 2) : r * (cell + 2) + cell, c * (cell + 2) : c * (cell + 2) + cell] = img
    return grid


def first_conv(model):
    import torch

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            return m
    return None


def visualize(model, spec, face: np.ndarray, out_dir: str | Path, max_maps: int = 64) -> list[Path]:
    """Write filters.png (first conv layer) and stageN_<name>.png feature-map grids; returns paths."""
    import torch

    from ..preprocess import to_model_input

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    conv = first_conv(model)
    if conv is not None:
        w = conv.weight.detach().cpu().numpy()  # (out, in, k, k)
        filters = w.mean(axis=1) if w.shape[1] > 1 else w[:, 0]
        p = out / "filters.png"
        cv2.imwrite(str(p), _tile(filters, 32))
        written.append(p)
    x = torch.from_numpy(to_model_input([face], spec))
    # what the network sees (first channel), min-max scaled and enlarged
    cv2.imwrite(str(out / "input.png"), _tile(x[0, :1].numpy(), 192))
    written.append(out / "input.png")
    stages = (
        model.blocks()
        if hasattr(model, "blocks")
        else [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    )
    model.eval()
    feats: list[np.ndarray] = []

    def keep(_module, _inputs, output) -> None:
        if isinstance(output, (tuple, list)):  # a stage that also returns side outputs
            output = output[0]
        if isinstance(output, torch.Tensor):
            feats.append(output.detach().float().cpu().numpy()[0])

    hooks = [s.register_forward_hook(keep) for s in stages]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    for i, f in enumerate(feats):
        if f.ndim != 3:
            continue
        p = out / f"stage{i + 1}_{f.shape[0]}maps_{f.shape[1]}x{f.shape[2]}.png"
        cv2.imwrite(str(p), _tile(f[:max_maps], 48))
        written.append(p)
    return written
