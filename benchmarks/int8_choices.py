"""Which layers stay float in an int8 export, and with which calibration: measured on one run.

    python benchmarks/int8_choices.py benchmarks/work/gpu_shipped_emotion7/kd_e8_std_t2_b512 --which last --each-layer

The run's checkpoint is exported to float once; each choice quantizes that float graph
(``grinlab.train.quantize.quantize_int8``, the export's own quantizer) and is scored by how
closely it follows the float graph, on 4,096 seeded training crops that the calibration never
sees (top-1 agreement, mean L1 distance of the probabilities: no labels, so no choice on
val/test labels), and by its val accuracy. Then the export's old and new choices are timed
alternately in one run (ONNX Runtime, batch 64, median of 30; this VM drifts between runs).
Writes int8_choices.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import bench_io
import numpy as np
from cost_rounds import alternated_ms

from grinlab.errors import GrinlabError
from grinlab.train.checkpoint import checkpoint_path
from grinlab.train.export import export_onnx, load_run_data, onnx_probabilities
from grinlab.train.predict import load_run_model
from grinlab.train.quantize import (
    CALIBRATION_IMAGES,
    CALIBRATION_PERCENTILE,
    float_output_nodes,
    input_conv_nodes,
    quantize_int8,
)
from grinlab.train.torch_data import fit_images

HELD = 4096  # training crops kept out of the calibration, to compare int8 with float on


def compute_nodes(path: Path) -> list[str]:
    import onnx

    return [n.name for n in onnx.load(str(path)).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="a training run folder (its dataset must be where its config says)")
    p.add_argument("--which", default="best", choices=("best", "last"))
    p.add_argument("--each-layer", action="store_true", help="also keep each compute layer float alone")
    p.add_argument("--timing-rounds", type=int, default=3)
    bench_io.add_output_options(p, "int8_choices")
    args = p.parse_args(argv)
    out = Path(bench_io.output(args, "int8_choices"))
    bench_io.require(args.run, what="a training run folder")

    try:  # a folder that is not a run, or a run whose dataset is not where its config says
        _, config, spec, _ = load_run_model(checkpoint_path(args.run, args.which))
        splits = load_run_data(config, "the comparison calibrates on its training crops")
    except GrinlabError as exc:
        print(f"int8_choices.py: {exc}", file=sys.stderr)
        return 2
    train, val = splits["train"], splits["val"]
    order = np.random.default_rng(123).permutation(len(train))
    held = fit_images(train.subset(np.sort(order[:HELD])), spec)
    pool = np.sort(order[HELD:])
    calibration = fit_images(train.subset(pool[np.sort(np.random.default_rng(0).permutation(len(pool))[:CALIBRATION_IMAGES])]), spec)  # fmt: skip
    x_val, y_val = fit_images(val, spec), np.asarray(val.labels)

    tmp = Path(tempfile.mkdtemp(prefix="int8_choices_"))
    float_path = tmp / "float.onnx"
    export_onnx(args.run, float_path, which=args.which, force=True)
    p_held, p_val = (onnx_probabilities(float_path, x, spec) for x in (held, x_val))
    layers = compute_nodes(float_path)
    outputs = float_output_nodes(float_path)
    choices = {  # name -> (nodes kept float, percentile)
        "every convolution int8 (exports until 2026-11-28)": (outputs, CALIBRATION_PERCENTILE),
        "input convolution float (exports now)": (outputs + input_conv_nodes(float_path), CALIBRATION_PERCENTILE),
        "every convolution int8, 99.999 percentile": (outputs, 99.999),
        "every convolution int8, 99.9 percentile": (outputs, 99.9),
        "input convolution float, 99.999 percentile": (outputs + input_conv_nodes(float_path), 99.999),
    }  # fmt: skip
    if args.each_layer:
        choices |= {f"layer {i} float ({name})": (outputs + [name], CALIBRATION_PERCENTILE) for i, name in enumerate(layers)}  # fmt: skip

    rows = [{"choice": "float32", "val_accuracy": float((p_val.argmax(1) == y_val).mean()),
             "agreement_held": 1.0, "l1_held": 0.0, "agreement_val": 1.0, "path": float_path}]  # fmt: skip
    for i, (name, (keep, percentile)) in enumerate(choices.items()):
        path = tmp / f"choice{i}.onnx"
        quantize_int8(float_path, path, calibration, spec, keep_float=keep, percentile=percentile)
        q_held, q_val = (onnx_probabilities(path, x, spec) for x in (held, x_val))
        row = {"choice": name, "val_accuracy": float((q_val.argmax(1) == y_val).mean()),
               "agreement_held": float((q_held.argmax(1) == p_held.argmax(1)).mean()),
               "l1_held": float(np.abs(q_held - p_held).sum(1).mean()),
               "agreement_val": float((q_val.argmax(1) == p_val.argmax(1)).mean()), "path": path}  # fmt: skip
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "path"}), flush=True)

    # timing: the float graph and the export's old and new choices, alternated
    timed = rows[:3]
    card = json.loads(float_path.with_suffix(".json").read_text())
    for row in timed[1:]:  # the timer loads a model through its card
        row["path"].with_suffix(".json").write_text(json.dumps(card))
    ms = alternated_ms({i: row["path"] for i, row in enumerate(timed)}, args.timing_rounds, threads=(2,))
    for i, row in enumerate(timed):
        row["ms_per_face_2_threads"] = ms[i][2]
    for row in rows:
        row.pop("path")
    doc = {"command": " ".join(["python", *sys.argv]), "run": str(args.run), "which": args.which,
           "held_training_crops": HELD, "calibration_crops": len(calibration), "val": len(val), "rows": rows}  # fmt: skip
    lines = [f"# int8 choices on `{args.run}` ({args.which} checkpoint)", "",
             f"Agreement and L1 with the float graph on {HELD} training crops the calibration did not use "
             f"(calibration: {len(calibration)} other training crops); val accuracy on {len(val)} val faces. "
             f"Made with `{doc['command']}`.", "",
             "| choice | top-1 agreement (held training crops) | mean L1 of probabilities | agreement (val) | val accuracy | ms/face, 2 threads (rounds, alternated) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        ms = ", ".join(f"{v:.3f}" for v in r.get("ms_per_face_2_threads", [])) or "-"
        lines.append(f"| {r['choice']} | {r['agreement_held']:.4f} | {r['l1_held']:.4f} | {r['agreement_val']:.4f} | "
                     f"{r['val_accuracy']:.4f} | {ms} |")  # fmt: skip
    bench_io.write_results(out, doc, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
