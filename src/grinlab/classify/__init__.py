"""Classifiers at inference time: ONNX Runtime sessions behind a small wrapper (no torch)."""

from .onnx_classifier import OnnxClassifier

__all__ = ["OnnxClassifier"]
