"""Two-stage cascade: a gate model (e.g. smile vs no smile) and a branch model that splits the
gate's positive class (e.g. positive vs negative smile), the FaceHack project's design.

The cascade is a model card of its own (``"stages"``) that names its two .onnx files, each with its
own card, in the same folder. Both stages run on every face of a batch (the branch is tiny, and a
full distribution for every face keeps results comparable to a single 3-class model):

    P(gate label l != positive) = P_gate(l)
    P(branch label b)           = P_gate(positive) * P_branch(b)

so the probabilities still sum to 1, in the cascade card's label order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import GrinlabError
from ..modelcard import ModelCard
from .decision import DecisionRule
from .onnx_classifier import OnnxClassifier

STAGE_KEYS = ("gate", "gate_label", "branch")


def cascade_order(
    gate_labels: Sequence[str], gate_label: str, branch_labels: Sequence[str], labels: Sequence[str]
) -> list[int]:
    """Column of each of ``labels`` among (the gate's other labels, then the branch's)."""
    combined = tuple(lab for lab in gate_labels if lab != gate_label) + tuple(branch_labels)
    return [combined.index(lab) for lab in labels]


def combine_stages(p_gate: np.ndarray, p_branch: np.ndarray, positive: int, order: list[int]) -> np.ndarray:
    """The cascade's probabilities from its stages' (the formula above), columns in ``order``."""
    rest = np.delete(p_gate, positive, axis=1)
    joint = p_gate[:, [positive]] * p_branch
    return np.concatenate([rest, joint], axis=1)[:, order].astype(np.float32)


class CascadeClassifier:
    """``CascadeClassifier("valence.json")``: the same interface as OnnxClassifier."""

    def __init__(self, card_path: str | os.PathLike, threads: int | None = None):
        path = Path(card_path)
        self.path = path
        self.card = ModelCard.load(path)
        self.decision = DecisionRule.from_card(self.card)
        self.flip_tta_decision = DecisionRule.from_card(self.card, flip_tta=True)
        stages = self.card.stages
        missing = [k for k in STAGE_KEYS if not stages.get(k)]
        if missing:
            raise GrinlabError(
                f"{path}: a cascade card needs stages {', '.join(STAGE_KEYS)}; missing {', '.join(missing)}"
            )
        self.gate = OnnxClassifier(path.parent / stages["gate"], threads=threads)
        self.branch = OnnxClassifier(path.parent / stages["branch"], threads=threads)
        positive = stages["gate_label"]
        if positive not in self.gate.labels:
            raise GrinlabError(
                f"{path}: gate_label {positive!r} is not a label of {stages['gate']} "
                f"({', '.join(self.gate.labels)})"
            )
        self._positive = self.gate.labels.index(positive)
        combined = tuple(lab for lab in self.gate.labels if lab != positive) + self.branch.labels
        if set(combined) != set(self.card.labels) or len(combined) != len(self.card.labels):
            raise GrinlabError(
                f"{path}: the stages give labels {', '.join(combined)} but the card lists "
                f"{', '.join(self.card.labels)}; fix the card's labels or stages"
            )
        self._order = cascade_order(self.gate.labels, positive, self.branch.labels, self.card.labels)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.card.labels

    @property
    def name(self) -> str:
        return self.card.name

    def _combine(self, p_gate: np.ndarray, p_branch: np.ndarray) -> np.ndarray:
        return combine_stages(p_gate, p_branch, self._positive, self._order)

    def predict_proba(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops of any size -> (N, C) probabilities in the card's label order."""
        crops = list(crops)
        return self._combine(self.gate.predict_proba(crops), self.branch.predict_proba(crops))

    def predict_prepared(self, batch: np.ndarray) -> np.ndarray:
        """uint8 crops at the card's input size; a stage with another input refits them."""
        batch = np.asarray(batch)
        same = self.gate.card.preprocessing == self.branch.card.preprocessing
        p_branch = self.branch.predict_prepared(batch) if same else self.branch.predict_proba(list(batch))
        return self._combine(self.gate.predict_prepared(batch), p_branch)

    def __repr__(self) -> str:
        return f"CascadeClassifier({str(self.path)!r}, labels={self.labels})"


def make_cascade_card(
    gate: str | os.PathLike,
    branch: str | os.PathLike,
    gate_label: str,
    out: str | os.PathLike,
    name: str | None = None,
) -> ModelCard:
    """Write a cascade card at ``out`` over two exported models (paths stored relative to the
    card's folder, so the three files move together). Its labels are the gate's other labels,
    then the branch's; its task is the known task with exactly those labels, if any."""
    out = Path(out)
    for path in (gate, branch):
        if Path(path).suffix != ".onnx":
            raise GrinlabError(
                f"{path}: each stage must be an exported .onnx model (a cascade cannot be a stage)"
            )
    stages = {}
    for key, path in (("gate", Path(gate)), ("branch", Path(branch))):
        try:
            stages[key] = os.path.relpath(path.resolve(), out.parent.resolve())
        except ValueError:  # another drive on Windows
            stages[key] = str(path.resolve())
    gate_card = OnnxClassifier(gate).card
    branch_card = OnnxClassifier(branch).card
    if gate_label not in gate_card.labels:
        raise GrinlabError(f"{gate}: gate label {gate_label!r} is not one of {', '.join(gate_card.labels)}")
    labels, task = cascade_labels(gate_card.labels, gate_label, branch_card.labels)
    card = ModelCard(
        name=name or out.stem,
        task=task,
        labels=labels,
        preprocessing=gate_card.preprocessing,
        architecture=f"cascade({gate_card.architecture} -> {branch_card.architecture})",
        params=gate_card.params + branch_card.params,
        stages={"gate": stages["gate"], "gate_label": gate_label, "branch": stages["branch"]},
        dataset={"gate": gate_card.dataset, "branch": branch_card.dataset},
        command=f"gate: {gate_card.command}\nbranch: {branch_card.command}",
        notes=f"two-stage cascade: {gate_card.name} ({gate_label} vs the rest), then {branch_card.name} "
        f"on the same face; P(branch label) = P({gate_label}) x P_branch(label)",
    )
    card.save(out)
    CascadeClassifier(out)  # fails loudly if the card does not load
    return card


def cascade_labels(
    gate_labels: Sequence[str], gate_label: str, branch_labels: Sequence[str]
) -> tuple[tuple[str, ...], str]:
    """(labels, task) of a cascade: the gate's other labels then the branch's, in the order of
    the known task with exactly those labels if there is one (task "" otherwise)."""
    from ..labels import TASKS

    labels = tuple(lab for lab in gate_labels if lab != gate_label) + tuple(branch_labels)
    task = next((t for t, ls in TASKS.items() if set(ls) == set(labels) and len(ls) == len(labels)), "")
    return (TASKS[task] if task else labels), task


def load_classifier(path: str | os.PathLike, threads: int | None = None):
    """An .onnx file (with its card) -> OnnxClassifier; a cascade card (.json) -> CascadeClassifier."""
    path = Path(path)
    if path.suffix == ".json":
        return CascadeClassifier(path, threads=threads)
    return OnnxClassifier(path, threads=threads)
