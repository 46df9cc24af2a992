"""An exported model quantized to int8 again, by this version's quantizer, from its ONNX file and
card alone (``grinlab export MODEL.onnx --int8 --out NEW.onnx``).

Why: a run folder is what ``grinlab export`` reads, and run folders are large and stay where they
were trained (a fresh checkout of this project has none of the shipped models' runs, hours of CPU
each), while the quantizer improves (2026-11-28: the convolution that reads the image stays float,
faster and closer to the float network). The file's weights taken back to float
(``dequantize.dequantized_model``; a float export is used as it is) are the network the int8 file
computes without activation rounding; quantized again per channel they fall on the same int8 steps
(each channel's largest weight sets its scale), and the activation ranges are calibrated anew on the
training crops the card names: the same loaders and seeded split as the run, checked against the
split sizes the card recorded. The new card keeps the old one's provenance and says what was done.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

from ..classify.onnx_classifier import OnnxClassifier
from ..errors import GrinlabError
from ..modelcard import ModelCard, sha256_file


def training_config(card: ModelCard, source: Path):
    """The TrainConfig whose loaders rebuild the card's dataset splits (path, extra data, format,
    options, val fraction and seed as the export recorded them)."""
    from .config import TrainConfig

    d = card.dataset or {}
    match = re.search(r"fraction ([0-9.]+), seed (\d+)", d.get("split", ""))
    if not d.get("path") or not match:
        raise GrinlabError(
            f"{source}: its card does not say which dataset and split trained it; export it again "
            "from its run folder (grinlab export RUN_DIR --int8)"
        )
    return TrainConfig(
        task=card.task, data=d["path"], data_format=d.get("format", "auto"), data_options=d.get("options", {}),
        extra_data=tuple(d.get("extra_paths", ())), val_fraction=float(match[1]), seed=int(match[2]),
    )  # fmt: skip


def check_split_sizes(card: ModelCard, splits: dict, source: Path) -> None:
    """The rebuilt splits must be the ones the card recorded: same sizes, else the data moved."""
    recorded = (card.dataset or {}).get("splits", {})
    for name in ("train", "val"):
        want = recorded.get(name, {}).get("size")
        got = len(splits[name]) if name in splits else None
        if want is not None and got != want:
            raise GrinlabError(
                f"{source}: its card's {name} split had {want} faces, the dataset at "
                f"{card.dataset['path']} gives {got}; point the card's dataset path at the data it was "
                "trained on (run from the folder it was trained in)"
            )


def requantize(
    model_path: str | os.PathLike,
    out_path: str | os.PathLike,
    name: str | None = None,
    force: bool = False,
    evaluate_test: bool = False,
    command: str = "",
) -> ModelCard:
    """Write ``out_path`` (int8 .onnx) and its card from the exported ``model_path``; returns the
    card. Its val metrics (and test with ``evaluate_test``) are measured on the written file."""
    import onnx

    from .dequantize import dequantized_model, is_qdq
    from .export import load_run_data, output_paths, quantize_measured

    source = Path(model_path)
    # loading it as the runtime would checks the file, its card, and that the two agree (input
    # size, number of labels) before minutes of calibration, not after
    card = OnnxClassifier(source, threads=1).card
    if card.stages:
        raise GrinlabError(
            f"{source}: a cascade card; requantize its stages' files, or export the cascade again"
        )
    out_path, new_card_path = output_paths(out_path, force)
    if out_path.resolve() == source.resolve():
        raise GrinlabError(f"{out_path}: write the new file beside the old one, then replace it")
    proto = onnx.load(str(source))  # ONNX Runtime has read it above
    was_int8 = is_qdq(proto)
    config = training_config(card, source)
    splits = load_run_data(config, "--int8 calibrates on the training crops its card names")
    check_split_sizes(card, splits, source)
    eval_splits = ("val", "test") if evaluate_test or "test" in card.metrics else ("val",)
    if evaluate_test and "test" not in splits:
        raise GrinlabError(f"--evaluate-test: the dataset at {config.data} has no test split")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".float.tmp.onnx")
    tmp8 = out_path.with_name(out_path.stem + ".tmp8.onnx")
    try:
        try:
            onnx.save(dequantized_model(proto) if was_int8 else proto, str(tmp))
        except ValueError as exc:
            raise GrinlabError(f"{source}: not an int8 export of grinlab export ({exc})") from None
        measured = quantize_measured(tmp, tmp8, card.preprocessing, splits, eval_splits, card.labels)
        os.replace(tmp8, out_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp8.unlink(missing_ok=True)

    kept = {k: v for k, v in card.metrics.items() if k not in ("val", "test", "int8")}
    source_sha = sha256_file(source)  # the file read, whatever its card says
    what = "its int8 weights taken back to float" if was_int8 else "a float export"
    d = card.to_dict() | {
        "name": name or card.name,
        "architecture": card.architecture.removesuffix(" (int8)") + " (int8)",
        "onnx_file": out_path.name,
        "sha256": sha256_file(out_path),
        "metrics": kept | measured | {"requantized_from": {"file": source.name, "sha256": source_sha}},
        "command": "\n".join(c for c in (card.command, command and f"requantize: {command}") if c),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "notes": card.notes
        + f" Quantized again from {source.name} (sha256 {source_sha[:12]}, {what}) by this "
        "version's int8 quantizer: its metrics were measured on the new file"
        + ("; its decision rule was chosen on the old file's probabilities (grinlab calibrate "
           "chooses it again)" if card.decision else "") + ".",
    }  # fmt: skip
    new = ModelCard.from_dict(d, str(new_card_path))
    new.save(new_card_path)
    return new
