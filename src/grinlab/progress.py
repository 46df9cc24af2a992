"""One rule for progress bars: shown on an interactive terminal unless GRINLAB_NO_PROGRESS is set."""

from __future__ import annotations

import os
import sys


def progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("GRINLAB_NO_PROGRESS")
