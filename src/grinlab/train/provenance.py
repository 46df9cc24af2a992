"""How a run was made, as commands that reproduce it from scratch: the network it started from
(``--init-from``), its teachers and stored teacher views, then its own command. A model card's
``command`` is this chain plus the export; a run started from another run carries that run's."""

from __future__ import annotations

from pathlib import Path

from ..modelcard import ModelCard


def made_by(info: dict) -> list[str]:
    """The commands that made a run (its config.json ``info``) from scratch: the network it started
    from, its teachers, then its own."""
    start = info.get("init_from") or {}
    lines = [f"start {start.get('name')} ({start.get('file')}, sha256 {start.get('sha256', '')[:12]}):\n"
             f"{start.get('command') or '(how it was made is not known)'}"] if start else []  # fmt: skip
    return [*lines, *teacher_commands(info), info.get("command", "")]


def teacher_commands(info: dict) -> list[str]:
    """For a distilled run: how each teacher was made (its card's command), so that the student's
    card reproduces from scratch. A teacher without a card beside it is named by its sha256."""
    lines = []
    for t in info.get("teachers", {}).get("models", []):
        made = _teacher_made_by(Path(t["path"]))
        lines.append(f"teacher {t['name']} ({t['path']}, sha256 {t['sha256'][:12]}):\n{made}")
    views = info.get("teachers", {}).get("views")
    if views and views.get("command"):
        lines.append(f"teacher views ({views['n_views']} per crop):\n{views['command']}")
    return lines


def _teacher_made_by(path: Path) -> str:
    """The command in the teacher's card: beside an ONNX file, or inside a teacher-weights file (a
    float16 copy of an ONNX teacher, which keeps that file's card and sha256). A damaged file does
    not stop the student's export: its card says so instead."""
    from ..errors import GrinlabError
    from .teacher_weights import teacher_weights_card

    card = path.with_suffix(".json")
    if card.is_file():
        return ModelCard.load(card).command
    if path.suffix == ".pt" and path.is_file():
        try:
            source = teacher_weights_card(path)
        except GrinlabError as e:
            return f"(how it was made is not known: {e})"
        return (f"{source.get('command') or '(its card names no command)'}\n"
                f"(float16 teacher weights of {source.get('onnx_file')}: benchmarks/teacher_weights.py)")  # fmt: skip
    return "(no card beside the teacher file)"
