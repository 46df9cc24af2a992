"""grinlab: real-time smile and facial-expression recognition (detect -> align -> classify -> track).

>>> import grinlab
>>> with grinlab.Analyzer(detector="haar", models=("smile",)) as analyzer:  # doctest: +SKIP
...     result = analyzer.analyze("photo.jpg")       # a path, or a BGR numpy array
>>> for face in result.faces:  # doctest: +SKIP
...     print(face.index, face.predictions["smile"].label, face.smile_intensity)
>>> row = result.to_dict()  # doctest: +SKIP

``result.to_dict()`` is one line of ``grinlab analyze``'s results.jsonl: source, frame_index,
width, height, timestamp_ms, timings_ms and, per face, its box (with landmarks and detector
score), each model's prediction (label, score, probabilities), smile_intensity and track_id.

The inference path never imports torch; training lives in ``grinlab.train``.
"""

from .errors import GrinlabError
from .labels import TASKS
from .modelcard import ModelCard
from .preprocess import Preprocessing
from .results import FaceBox, FaceResult, FrameResult, Prediction

__version__ = "0.1.0"

# The analyzer loads OpenCV's detector and ONNX Runtime: imported on first use, so `import grinlab`
# stays light for code that only reads results or cards.
_LAZY = {"Analyzer": "pipeline", "AnalyzerOptions": "pipeline", "RunningMode": "pipeline"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'grinlab' has no attribute {name!r}")


__all__ = ["Analyzer", "AnalyzerOptions", "FaceBox", "FaceResult", "FrameResult", "GrinlabError", "ModelCard",
           "Prediction", "Preprocessing", "RunningMode", "TASKS", "__version__"]  # fmt: skip
