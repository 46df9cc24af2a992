"""Report figures (matplotlib, Agg backend, imported lazily): confusion matrices, training
curves, reliability diagram. Each writes a PNG and returns its path."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm, classes, path: Path, title: str = "") -> Path:
    plt = _plt()
    cm = np.asarray(cm, float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    n = len(classes)
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.6 * n, 2 + 0.8 * n), dpi=100)
    for ax, data, name, fmt in (
        (axes[0], cm, "counts", "{:.0f}"),
        (axes[1], norm, "row-normalised (recall)", "{:.2f}"),
    ):
        ax.imshow(data, cmap="Blues", vmin=0)
        ax.set_xticks(range(n), classes, rotation=45, ha="right")
        ax.set_yticks(range(n), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
        top = data.max() if data.size else 1
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    fmt.format(data[i, j]),
                    ha="center",
                    va="center",
                    color="white" if data[i, j] > top / 2 else "black",
                    fontsize=8,
                )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curves(history: list[dict], path: Path) -> Path:
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    for key, ax in (("loss", a), ("acc", b)):
        for split in ("train", "val"):
            vals = [h.get(f"{split}_{key}") for h in history]
            if any(v is not None for v in vals):
                ax.plot(ep, vals, marker="o", markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if key == "loss" else "accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_reliability(bins: list[dict], ece: float, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    if bins:
        ax.bar([(b["lo"] + b["hi"]) / 2 for b in bins], [b["accuracy"] for b in bins],
               width=[b["hi"] - b["lo"] for b in bins], alpha=0.7, edgecolor="black", label="accuracy")  # fmt: skip
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
