"""grinlab: real-time smile and facial-expression recognition (detect -> align -> classify -> track).

>>> import grinlab
>>> with grinlab.Analyzer(models=("smile",)) as analyzer:
...     result = analyzer.analyze("obama.jpg")  # a path, or a BGR numpy array
>>> [(face.index, face.predictions["smile"].label) for face in result.faces]
[(0, 'smile')]
>>> result.faces[0].smile_intensity > 0.5
True
>>> row = result.to_dict()  # one line of `grinlab analyze`'s results.jsonl

The frames of a video, in time order, with track ids and smoothed labels (VIDEO mode; STREAM mode
takes a ``result_callback`` and ``analyze_async`` for cameras):

>>> import cv2
>>> frame = cv2.imread("obama.jpg")
>>> options = grinlab.AnalyzerOptions(models=("smile",), mode=grinlab.RunningMode.VIDEO)
>>> with grinlab.Analyzer(options) as video:
...     results = [video.analyze_frame(frame, timestamp_ms=40.0 * i) for i in range(3)]
>>> [face.track_id for face in results[-1].faces]
[1]

``result.to_dict()`` holds source, frame_index, width, height, timestamp_ms, timings_ms and, per
face, its box (with landmarks and detector score), each model's prediction (label, score,
probabilities), smile_intensity and track_id.

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
_LAZY = {
    "Analyzer": "pipeline",
    "AnalyzerOptions": "pipeline",
    "RunningMode": "pipeline",
    "Session": "session",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'grinlab' has no attribute {name!r}")


__all__ = ["Analyzer", "AnalyzerOptions", "FaceBox", "FaceResult", "FrameResult", "GrinlabError", "ModelCard",
           "Prediction", "Preprocessing", "RunningMode", "Session", "TASKS", "__version__"]  # fmt: skip
