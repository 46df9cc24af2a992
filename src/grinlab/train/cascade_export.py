"""Export a two-stage cascade whose stages share their first blocks as ONE ONNX graph.

A branch trained with ``--init-from GATE_RUN/checkpoints/best.pt --freeze all_but_last`` keeps
every block of the gate but the last bit for bit. The merged graph runs that shared trunk once
per face, then the gate's and the branch's own last blocks and heads, and composes them exactly
as ``grinlab.classify.cascade`` does (P(other gate label) = P_gate, P(branch label) =
P_gate(positive) x P_branch): the same answers as the two networks, at ~1.2x the cost of one.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

import numpy as np
import torch
from torch import nn

from ..classify.cascade import cascade_labels, cascade_order, combine_stages
from ..errors import GrinlabError
from ..modelcard import ModelCard, sha256_file
from .checkpoint import checkpoint_path
from .export import (
    OPSET,
    PARITY_TOLERANCE,
    TorchPredictor,
    epoch_of,
    export_graph,
    load_run_data,
    measure_splits,
    onnx_probabilities,
    output_paths,
    parity_images,
    quantize_measured,
    require_parity,
)
from .predict import load_run_model
from .run_folder import read_run_config, run_dir_of
from .zoo import count_params

log = logging.getLogger(__name__)


def shared_blocks(gate: nn.Module, branch: nn.Module) -> int:
    """How many leading blocks (``model.stages``) the two networks hold identically."""
    n = 0
    for g, b in zip(gate.stages, branch.stages, strict=False):
        gs, bs = g.state_dict(), b.state_dict()
        if gs.keys() != bs.keys() or not all(torch.equal(gs[k], bs[k]) for k in gs):
            break
        n += 1
    return n


class SharedTrunkCascade(nn.Module):
    """Trunk once, then both stages' remaining blocks; outputs cascade probabilities."""

    def __init__(self, gate: nn.Module, branch: nn.Module, shared: int, positive: int, order: list[int]):
        super().__init__()
        self.trunk = nn.Sequential(*gate.stages[:shared])
        self.gate_rest = nn.Sequential(*gate.stages[shared:], gate.pool, gate.head)
        self.branch_rest = nn.Sequential(*branch.stages[shared:], branch.pool, branch.head)
        self.positive = positive
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        p_gate = torch.softmax(self.gate_rest(h), dim=1)
        p_branch = torch.softmax(self.branch_rest(h), dim=1)
        k = self.positive
        rest = torch.cat([p_gate[:, :k], p_gate[:, k + 1 :]], dim=1)
        combined = torch.cat([rest, p_gate[:, k : k + 1] * p_branch], dim=1)
        return combined[:, self.order]


def _two_network_cascade(gate, branch, spec, positive: int, order: list[int]):
    """The reference: both networks run whole, composed as the runtime cascade composes them."""
    gate_p, branch_p = TorchPredictor(gate, spec), TorchPredictor(branch, spec)
    return lambda images: combine_stages(gate_p(images), branch_p(images), positive, order)


def export_shared_cascade(
    gate_run: str | os.PathLike,
    branch_run: str | os.PathLike,
    gate_label: str,
    out_path: str | os.PathLike,
    name: str | None = None,
    force: bool = False,
    int8: bool = False,
    command: str = "",
) -> ModelCard:
    """Write ``out_path`` (.onnx) and its card for the cascade gate -> branch (best checkpoints).

    The card's metrics are measured on the file itself, on the val split of the branch's dataset
    loaded for the cascade's task (e.g. FaceHack val for valence). Raises GrinlabError when the
    stages share no block, differ in input, or the merged graph does not match the two networks.
    """
    out_path, card_path = output_paths(out_path, force)
    gate, gate_cfg, spec, gate_classes = load_run_model(gate_run)
    branch, branch_cfg, branch_spec, branch_classes = load_run_model(branch_run)
    if not all(hasattr(m, "stages") for m in (gate, branch)):
        raise GrinlabError("a shared-trunk cascade needs two grinlab zoo networks (models with stages)")
    if branch_spec != spec:
        raise GrinlabError(
            f"the gate takes {spec} but the branch takes {branch_spec}; they cannot share a trunk"
        )
    if gate_label not in gate_classes:
        raise GrinlabError(
            f"gate label {gate_label!r} is not one of the gate's labels {', '.join(gate_classes)}"
        )
    shared = shared_blocks(gate, branch)
    if shared == 0:
        raise GrinlabError(
            f"{branch_run} shares no leading block with {gate_run}; train the branch with "
            f"--init-from {checkpoint_path(gate_run)} --freeze all_but_last"
        )
    labels, task = cascade_labels(gate_classes, gate_label, branch_classes)
    if not task:
        raise GrinlabError(f"no known task has the labels {', '.join(labels)}; nothing to measure it on")
    positive = gate_classes.index(gate_label)
    order = cascade_order(gate_classes, gate_label, branch_classes, labels)
    merged = SharedTrunkCascade(gate, branch, shared, positive, order).eval()

    splits = load_run_data(branch_cfg.replace(task=task), f"the cascade is measured on its {task} val split")
    images = parity_images(run_dir_of(checkpoint_path(branch_run)), spec, branch_cfg)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.stem + ".tmp.onnx")
    tmp8 = out_path.with_name(out_path.stem + ".tmp8.onnx")
    try:
        export_graph(merged, spec, tmp)
        reference = _two_network_cascade(gate, branch, spec, positive, order)(images)
        diff = float(np.abs(onnx_probabilities(tmp, images, spec) - reference).max())
        require_parity(diff, len(images), out_path)
        if int8:
            # calibrate on the gate's training crops: they cover every face the gate sees
            gate_splits = load_run_data(gate_cfg, "--int8 calibrates on the gate's training crops")
            metrics = quantize_measured(
                tmp, tmp8, spec, {**splits, "train": gate_splits["train"]}, ("val",), labels
            )
            os.replace(tmp8, out_path)
        else:
            metrics = measure_splits(tmp, {"val": splits["val"]}, spec, labels)
            os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp8.unlink(missing_ok=True)
    metrics["onnx_parity"] = {
        "max_abs_diff": diff,
        "n_images": int(len(images)),
        "tolerance": PARITY_TOLERANCE,
        "reference": "the two networks run whole and composed",
    }
    commands = []
    for role, run in (("gate", gate_run), ("branch", branch_run)):
        run_dir = run_dir_of(checkpoint_path(run))
        info = read_run_config(run_dir) if run_dir else {}
        commands.append(f"{role}: {info.get('command', '')}")
    if command:
        commands.append(f"export: {command}")
    n_blocks = len(gate.stages)
    card = ModelCard(
        name=name or out_path.stem,
        task=task,
        labels=labels,
        preprocessing=spec,
        architecture=f"cascade({gate_cfg.model} -> {branch_cfg.model}), first {shared} of {n_blocks} blocks shared"
        + (" (int8)" if int8 else ""),
        params=count_params(merged),
        onnx_file=out_path.name,
        sha256=sha256_file(out_path),
        dataset={"gate": _dataset(gate_cfg), "branch": _dataset(branch_cfg)},
        metrics=metrics,
        command="\n".join(commands),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        notes=(
            f"Two-stage cascade in one graph: {gate_label} vs the rest, then {', '.join(branch_classes)}; "
            f"P(branch label) = P({gate_label}) x P_branch(label). The first {shared} blocks are shared "
            f"(the branch was trained on the gate's frozen blocks) and run once. Exported from "
            f"{checkpoint_path(gate_run)} (epoch {epoch_of(checkpoint_path(gate_run))}) and "
            f"{checkpoint_path(branch_run)} (epoch {epoch_of(checkpoint_path(branch_run))}); ONNX opset {OPSET}. "
            "metrics['onnx_parity'] compares the graph, before any quantization, with the two networks."
            + (
                " int8: see metrics['int8']; the val metrics were measured on the quantized file."
                if int8
                else ""
            )
        ),
    )
    card.save(card_path)
    log.info("wrote %s and %s", out_path, card_path)
    return card


def _dataset(config) -> dict:
    return {"path": config.data, "extra_paths": list(config.extra_data), "task": config.task}
