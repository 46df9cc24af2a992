"""Helpers for the web tests (a module of its own: `from conftest import ...` is ambiguous when
several test folders have a conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

from grinlab.pipeline import AnalyzerOptions
from grinlab.web.app import ServeOptions

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GRINLAB_TEST_ARTIFACTS", REPO / "test-artifacts"))


def serve_options(yunet_path, **kw) -> ServeOptions:
    analyzer = AnalyzerOptions(detector="yunet", detector_options={"model_path": str(yunet_path)})
    return ServeOptions(analyzer=analyzer, **kw)
