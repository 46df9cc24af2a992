"""grinlab: real-time smile and facial-expression recognition (detect -> align -> classify -> track).

The inference path never imports torch; training lives in ``grinlab.train``.
"""

from .errors import GrinlabError
from .labels import TASKS
from .modelcard import ModelCard
from .preprocess import Preprocessing
from .results import FaceBox

__version__ = "0.1.0"

__all__ = ["FaceBox", "GrinlabError", "ModelCard", "Preprocessing", "TASKS", "__version__"]
