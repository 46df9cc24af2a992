"""Classifiers at inference time: ONNX Runtime sessions behind a small wrapper (no torch)."""

from .cascade import CascadeClassifier, load_classifier
from .decision import DecisionRule, decide
from .onnx_classifier import OnnxClassifier
from .tta import predict_proba_flip_tta

__all__ = [
    "CascadeClassifier",
    "DecisionRule",
    "OnnxClassifier",
    "decide",
    "load_classifier",
    "predict_proba_flip_tta",
]
