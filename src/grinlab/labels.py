"""Label sets (tasks) and the mappings between them.

A task is an ordered tuple of class names; a model's output index i is ``TASKS[task][i]``.
"""

from __future__ import annotations

from .errors import GrinlabError

EMOTION7 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# FER+ (Barsoum et al. 2016): the 7 emotions plus contempt, learnt from crowd votes only
EMOTION8 = (*EMOTION7, "contempt")
SMILE = ("no_smile", "smile")
VALENCE = ("no_smile", "positive_smile", "negative_smile")
# the second stage of a valence cascade: which kind of smile, for faces that smile
SMILE_POLARITY = ("positive_smile", "negative_smile")
# FER+ vote columns, in the order of ferplus/fer2013new.csv.
FERPLUS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")

TASKS: dict[str, tuple[str, ...]] = {
    "emotion7": EMOTION7,
    "emotion8": EMOTION8,
    "smile": SMILE,
    "valence": VALENCE,
    "smile_polarity": SMILE_POLARITY,
    # FER2013 happy vs neutral as a smile task, as the SmileRecognition project did.
    "happy_neutral": SMILE,
}

# Map an emotion7 label to another task; None drops the sample.
_EMOTION7_TO: dict[str, dict[str, str | None]] = {
    "happy_neutral": {
        e: ("smile" if e == "happy" else "no_smile" if e == "neutral" else None) for e in EMOTION7
    },
}

# FER+ vote column -> emotion8 name; all but "contempt" are emotion7 names too.
FERPLUS_TO_EMOTION8 = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
}


def task_labels(task: str) -> tuple[str, ...]:
    """Return the class names of ``task`` or raise a GrinlabError listing the known tasks."""
    try:
        return TASKS[task]
    except KeyError:
        raise GrinlabError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}") from None


def map_emotion7(label: str, task: str) -> str | None:
    """Map an emotion7 class name to ``task``'s class name (None = not part of that task)."""
    if task in ("emotion7", "emotion8"):
        return label
    if task not in _EMOTION7_TO:
        raise GrinlabError(
            f"FER2013 emotions cannot be mapped to task {task!r}; use emotion7 or happy_neutral"
        )
    return _EMOTION7_TO[task][label]
