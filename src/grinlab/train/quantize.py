"""Static int8 quantization of an exported model with ONNX Runtime (QDQ, per-channel weights).

Why: on CPUs with VNNI (most x86 since 2019) ONNX Runtime runs int8 convolutions about twice as
fast as float32, and the file is ~3.5x smaller. Activation ranges are calibrated on real training
crops, never on the val/test faces the model is measured on. The quantized file keeps the float
model's interface (float32 input, softmax probabilities), so the runtime loads it unchanged.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..preprocess import Preprocessing, normalize

CALIBRATION_IMAGES = 2048
CALIBRATION_BATCH = 64
# Ranges clip the top 0.01% of each activation's values: on emotion7 this kept the int8 model's
# answers closer to the float model's (97.6% top-1 agreement on val) than min/max (96.9%) or
# entropy (96.7%) calibration did.
CALIBRATION_PERCENTILE = 99.99


def calibration_indices(n_total: int, n: int = CALIBRATION_IMAGES, seed: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subset of a training split, for calibration."""
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:n])


def quantize_int8(
    float_path: Path,
    out_path: Path,
    calibration: np.ndarray,
    spec: Preprocessing,
    keep_float: list[str] | None = None,
    percentile: float = CALIBRATION_PERCENTILE,
) -> None:
    """Write ``out_path``: ``float_path`` with int8 weights (per channel) and uint8 activations
    whose ranges come from ``calibration`` (uint8 crops at model input size, percentile ranges).
    The nodes named in ``keep_float`` stay float; by default (None) the convolutions that read the
    image itself and the logits (``float_nodes``). The other arguments are for comparisons
    (benchmarks/int8_choices.py); exports use the defaults."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    x = normalize(calibration, spec)
    # whole batches only: ORT's percentile calibrator stacks every batch's activations into one
    # array and fails on a ragged last batch (a training split under 2048 crops, e.g. FaceHack's
    # 1254 smiles for smile_polarity); at most CALIBRATION_BATCH - 1 crops are left out
    if len(x) > CALIBRATION_BATCH:
        x = x[: len(x) - len(x) % CALIBRATION_BATCH]

    class Batches(CalibrationDataReader):
        def __init__(self):
            self._it = iter(range(0, len(x), CALIBRATION_BATCH))

        def get_next(self):
            i = next(self._it, None)
            return None if i is None else {"input": x[i : i + CALIBRATION_BATCH]}

    # ORT prints calibration progress and warns on constant tensors; neither is actionable here
    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared))  # shape inference + graph cleanup
        quantize_static(
            str(prepared),
            str(out_path),
            Batches(),
            nodes_to_exclude=float_nodes(prepared) if keep_float is None else list(keep_float),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
            extra_options={"CalibPercentile": percentile},
        )


def float_nodes(model_path: Path) -> list[str]:
    """The nodes ``quantize_int8`` leaves float: the input convolutions and the output layers."""
    return sorted(set(input_conv_nodes(model_path)) | set(float_output_nodes(model_path)))


def input_conv_nodes(model_path: Path) -> list[str]:
    """Names of the Conv nodes that read the graph's input (the image) directly.

    Why float: the image has 1 (or 3) channels and is standardised per image, so rounding it to
    uint8 merges grey levels (with the earlier emotion7 export's input scale, a median of 120 of an
    image's 217 levels are left, over 1,000 training crops), and the convolution over it is cheap
    in float. On the
    GPU-distilled emotion7 (2026-11-28), keeping its first convolution float lifted the int8 file's
    top-1 agreement with the float one from 98.7% to 99.3% on 4,096 training crops the calibration
    did not use (no other single layer moved it by more than 0.1 point; a wider or symmetric range
    for the quantized image did not help). Cost, the shipped files against their previous exports
    alternated over 8 rounds (benchmarks/results/cost_rounds.md): median 6-9% lower with 2 threads
    and 6-7% lower with 1, but in this VM's slow minutes the new files are hit harder, 0.21-0.25
    against 0.19-0.20 ms/face. ONNX Runtime's profile says why: around the float convolution the
    tensor changes layout twice (NCHWc back to NCHW, then NCHW to the int8 path's NHWC), about
    40 of 230 us/face of memory-bound work that the all-int8 graph does on the 1-channel image
    only. Making the first convolution exact in int8 instead would need the per-image
    standardisation inside the graph (raw pixels are exact in uint8)."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    inputs = {i.name for i in graph.input} - {t.name for t in graph.initializer}
    return sorted(n.name for n in graph.node if n.op_type == "Conv" and n.input and n.input[0] in inputs)


def float_output_nodes(model_path: Path) -> list[str]:
    """Names of the nodes that stay float: each Softmax, the layer that feeds it (the logits) and
    everything after it. Quantized, the probabilities would move in steps of 1/255 and no longer
    sum to 1, and the smile intensity would lose its resolution."""
    import onnx

    graph = onnx.load(str(model_path)).graph
    producer = {out: node for node in graph.node for out in node.output}
    keep = set()
    frontier = []
    for node in graph.node:
        if node.op_type == "Softmax":
            frontier.append(node)
            feeding = producer.get(node.input[0])
            if feeding is not None:
                keep.add(feeding.name)
    while frontier:  # every node downstream of a softmax (a cascade's products and reordering)
        node = frontier.pop()
        if node.name in keep and node.op_type != "Softmax":
            continue
        keep.add(node.name)
        frontier += [n for n in graph.node if set(n.input) & set(node.output) and n.name not in keep]
    return sorted(keep)


def agreement(float_path: Path, int8_path: Path, images: np.ndarray, spec: Preprocessing) -> dict:
    """How closely the int8 model follows the float one on ``images``: top-1 agreement and the
    largest probability difference."""
    import onnxruntime as ort

    x = normalize(images, spec)
    probs = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
        for p in (float_path, int8_path)
    ]
    return {
        "n_images": int(len(images)),
        "top1_agreement": float((probs[0].argmax(1) == probs[1].argmax(1)).mean()),
        "max_abs_diff": float(np.abs(probs[0] - probs[1]).max()),
    }
