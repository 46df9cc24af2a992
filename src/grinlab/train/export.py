"""Export a trained run to ONE self-contained ONNX file plus its model card, with a parity check.

The ONNX graph ends in a softmax: its output "probabilities" (N, K) sums to 1 per row, in the
card's label order. Input "input" is float32 (N, C, H, W), prepared by
``grinlab.preprocess.to_model_input`` with the card's preprocessing; the batch axis is dynamic.
With ``int8`` the file is statically quantized (``grinlab.train.quantize``) and the card's metrics
are measured again on the quantized file, on the run's own splits.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import GrinlabError
from ..modelcard import ModelCard, sha256_file
from ..preprocess import Preprocessing, normalize
from .checkpoint import checkpoint_path
from .predict import TorchPredictor, load_run_model
from .provenance import made_by
from .quantize import CALIBRATION_IMAGES, CALIBRATION_PERCENTILE
from .run_folder import read_run_config, run_dir_of
from .zoo import count_params

log = logging.getLogger(__name__)

OPSET = 17
PARITY_TOLERANCE = 1e-4


class WithSoftmax(nn.Module):
    """The trained network followed by softmax, so the ONNX model outputs probabilities."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def parity_images(run_dir: Path | None, spec: Preprocessing, config) -> np.ndarray:
    """Real val crops at model input size: the run's val_samples.npz, else a reload of its data."""
    if run_dir is not None and (run_dir / "val_samples.npz").is_file():
        with np.load(run_dir / "val_samples.npz") as f:
            return f["images"]
    if config.data and Path(config.data).exists():
        from ..data import load_splits
        from .torch_data import fit_images

        val = load_splits(
            config.data,
            fmt=config.data_format,
            task=config.task,
            val_fraction=config.val_fraction,
            seed=config.seed,
            **config.data_options,
        )["val"]
        return fit_images(val.subset(np.arange(min(64, len(val)))), spec)
    raise GrinlabError(
        "no real val images for the parity check: the run folder has no val_samples.npz and its dataset "
        f"{config.data!r} is not available"
    )


def export_graph(prob_model: nn.Module, spec: Preprocessing, out_path: Path) -> None:
    """Write ``prob_model`` (a module whose output is already probabilities) as one ONNX file."""
    dummy = torch.zeros((2, spec.channels, *spec.size), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        # dynamo=False: the TorchScript exporter writes one file (weights inline) and handles a
        # dynamic batch axis robustly for every zoo family.
        torch.onnx.export(
            prob_model.eval(),
            (dummy,),
            str(out_path),
            input_names=["input"],
            output_names=["probabilities"],
            dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    side = out_path.with_name(out_path.name + ".data")
    if side.exists():  # never leave a model that needs a second file
        raise GrinlabError(
            f"{out_path}: the exporter wrote external weights ({side.name}); please report this"
        )


def check_parity(
    predictor: TorchPredictor, onnx_path: Path, images: np.ndarray, spec: Preprocessing
) -> float:
    """Max abs difference of probabilities, torch vs ONNX Runtime, over ``images`` (uint8)."""
    return float(np.abs(onnx_probabilities(onnx_path, images, spec) - predictor(images)).max())


def onnx_probabilities(onnx_path: Path, images: np.ndarray, spec: Preprocessing) -> np.ndarray:
    """ONNX Runtime probabilities of a just-written graph (no card needed) on uint8 crops."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return np.concatenate(
        [
            session.run(None, {"input": normalize(images[i : i + 512], spec)})[0]
            for i in range(0, len(images), 512)
        ]
    )


def require_parity(diff: float, n: int, out_path: Path) -> None:
    if not diff < PARITY_TOLERANCE:
        raise GrinlabError(
            f"{out_path}: ONNX Runtime and torch disagree by {diff:.2e} in probability on {n} val "
            f"images (allowed {PARITY_TOLERANCE:.0e}); the model was not written"
        )


def measure_splits(onnx_path: Path, splits: dict, spec: Preprocessing, labels: tuple[str, ...]) -> dict:
    """{split: n, accuracy, macro_f1, recall} of a written graph on each dataset in ``splits``."""
    from ..evaluate.metrics import classification_summary
    from ..evaluate.onnx_eval import match_classes
    from .torch_data import fit_images

    out = {}
    for name, ds in splits.items():
        ds = match_classes(ds, labels, onnx_path.name)
        s = classification_summary(
            ds.labels, onnx_probabilities(onnx_path, fit_images(ds, spec), spec), labels
        )
        out[name] = {k: s[k] for k in ("n", "accuracy", "macro_f1", "recall")}
    return out


def quantize_measured(
    float_path: Path, out_path: Path, spec: Preprocessing, splits: dict, eval_splits: tuple[str, ...], labels
) -> dict:
    """Quantize ``float_path`` to ``out_path`` (calibrated on ``splits['train']``) and return the
    int8 file's metrics on ``eval_splits`` plus its agreement with the float graph on val."""
    from .quantize import agreement, calibration_indices, quantize_int8
    from .torch_data import fit_images

    train = splits["train"]
    quantize_int8(float_path, out_path, fit_images(train.subset(calibration_indices(len(train))), spec), spec)
    metrics = measure_splits(out_path, {k: splits[k] for k in eval_splits if k in splits}, spec, labels)
    metrics["int8"] = {
        "calibration": f"{min(len(train), CALIBRATION_IMAGES)} seeded random training crops, "
        f"{CALIBRATION_PERCENTILE} percentile ranges; the convolutions that read the image, and the "
        "logits, stay float",
        **agreement(float_path, out_path, fit_images(splits["val"], spec), spec),
    }
    return metrics


def load_run_data(config, why: str) -> dict:
    """The run's own dataset splits, or an error that says why the export needs them."""
    from .loaders import load_training_splits

    try:
        return load_training_splits(config)
    except GrinlabError as exc:
        raise GrinlabError(
            f"this export needs the run's dataset ({why}): {exc}; run it from the folder the run was "
            "trained in, or where its --data path resolves"
        ) from exc


def output_paths(out_path: str | os.PathLike, force: bool) -> tuple[Path, Path]:
    """(model.onnx, model.json), refusing to overwrite without ``force``."""
    out_path = Path(out_path)
    if out_path.suffix != ".onnx":
        raise GrinlabError(f"{out_path}: the output must end in .onnx")
    card_path = out_path.with_suffix(".json")
    for p in (out_path, card_path):
        if p.exists() and not force:
            raise GrinlabError(f"{p} exists; pass --force to overwrite it")
    return out_path, card_path


def export_onnx(
    run_dir_or_checkpoint: str | os.PathLike,
    out_path: str | os.PathLike,
    name: str | None = None,
    force: bool = False,
    which: str = "best",
    int8: bool = False,
    command: str = "",
    evaluate_test: bool = False,
) -> ModelCard:
    """Write ``out_path`` (.onnx) and its card (same name, .json); returns the card.

    Raises GrinlabError when the output exists (without ``force``) or when torch and ONNX Runtime
    disagree by more than 1e-4 in probability on real val images (nothing is left behind then).
    ``int8`` quantizes the graph after that check; it needs the run's dataset, for calibration
    crops and to measure the quantized file. ``evaluate_test`` also measures the written file on
    the test split, for a run that chose its checkpoint on val without reading test (the card then
    has the one test figure). ``command`` (the export command) joins the card's.
    """
    out_path, card_path = output_paths(out_path, force)
    ckpt_path = checkpoint_path(run_dir_or_checkpoint, which)
    run_dir = run_dir_of(ckpt_path)
    model, config, spec, classes = load_run_model(ckpt_path)
    images = parity_images(run_dir, spec, config)
    # --evaluate-test: the test split is read here, once, for the file being shipped; the run
    # itself chose its checkpoint on val without reading test
    test = evaluate_test and not config.evaluate_test
    splits = (
        load_run_data(
            config, "--int8 calibrates on it and measures the quantized file" if int8 else "--evaluate-test"
        )
        if int8 or test
        else None
    )
    if test and "test" not in splits:
        raise GrinlabError(
            f"--evaluate-test: the run's dataset ({config.data}) has no test split; a folder needs a test/ folder"
        )

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".tmp.onnx")
    tmp8 = out_path.with_name(out_path.stem + ".tmp8.onnx")
    try:
        export_graph(WithSoftmax(model), spec, tmp)
        diff = check_parity(TorchPredictor(model, spec), tmp, images, spec)
        require_parity(diff, len(images), out_path)
        if int8:
            eval_splits = ("val", "test") if config.evaluate_test or test else ("val",)
            metrics = quantize_measured(tmp, tmp8, spec, splits, eval_splits, classes)
            os.replace(tmp8, out_path)
        else:
            os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp8.unlink(missing_ok=True)
    log.info("parity torch vs ONNX Runtime: max abs diff %.2e on %d val images", diff, len(images))

    info = read_run_config(run_dir) if run_dir else {}
    if not int8:
        metrics = {}
        if run_dir and (run_dir / "results.json").is_file():
            results = json.loads((run_dir / "results.json").read_text())
            metrics = {
                split: {k: m[k] for k in ("n", "accuracy", "macro_f1", "recall") if k in m}
                for split, m in results.items()
            }
        if test:
            metrics["test"] = measure_splits(out_path, {"test": splits["test"]}, spec, classes)["test"]
    if info.get("teachers"):
        metrics["distillation"] = {
            "teachers": [{k: t[k] for k in ("name", "sha256")} for t in info["teachers"]["models"]],
            "teacher_val_acc": info["teachers"]["val_acc"],
            "weight": config.distill_weight,
            "temperature": config.distill_temperature,
            **(
                {"views": {k: info["teachers"]["views"][k] for k in ("n_views", "preset", "seed")}}
                if info["teachers"].get("views")
                else {}
            ),
        }
    if info.get("init_from"):  # the network it started from: which one, exactly
        metrics["initialised_from"] = {k: v for k, v in info["init_from"].items() if k != "command"}
    metrics["onnx_parity"] = {
        "max_abs_diff": diff,
        "n_images": int(len(images)),
        "tolerance": PARITY_TOLERANCE,
    }
    card = ModelCard(
        name=name or out_path.stem,
        task=config.task,
        labels=classes,
        preprocessing=spec,
        architecture=config.model + (" (int8)" if int8 else ""),
        params=count_params(model),
        onnx_file=out_path.name,
        sha256=sha256_file(out_path),
        dataset=_dataset_entry(config, info, splits["test"] if test else None),
        metrics=metrics,
        command="\n".join(c for c in (*made_by(info), command and f"export: {command}") if c),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        notes=(
            f"Output 'probabilities': softmax inside the graph (sums to 1), in label order. Input 'input': "
            f"float32 (N, {spec.channels}, {spec.size[0]}, {spec.size[1]}) from grinlab.preprocess.to_model_input; "
            f"dynamic batch; ONNX opset {OPSET}. Exported from {ckpt_path} (epoch {epoch_of(ckpt_path)}). "
            "metrics['onnx_parity'] is the "
            "measured torch vs ONNX Runtime difference on real val images (before quantization)."
            + (_INT8_NOTE if int8 else "")
        ),
    )
    card.save(card_path)
    log.info("wrote %s and %s", out_path, card_path)
    return card


_INT8_NOTE = (
    " int8: weights per channel, activations calibrated on training crops (metrics['int8']), the "
    "input convolutions and the logits float; the "
    "split metrics were measured on this quantized file."
)


def _dataset_entry(config, info: dict, test=None) -> dict:
    """The card's dataset; ``test``: the test split the export measured (the run did not read it)."""
    return {
        "path": config.data,
        "extra_paths": list(config.extra_data),
        "format": config.data_format,
        "options": config.data_options,
        "split": f"seeded stratified val split (fraction {config.val_fraction}, seed {config.seed}) "
        "unless the dataset defines its own splits",
        "splits": {**info.get("datasets", {}), **({"test": test.summary()} if test is not None else {})},
    }


def epoch_of(ckpt_path: Path) -> int:
    from .checkpoint import load_checkpoint

    return int(load_checkpoint(ckpt_path)["epoch"])
