"""What every harness in fuzz/ shares: seed the corpus folders named on the command line (when
empty), then hand the target to libFuzzer through atheris."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import atheris


def fuzz(test_one_input: Callable[[bytes], None], seed_corpus: Callable[[Path], None]) -> None:
    for folder in (a for a in sys.argv[1:] if not a.startswith("-")):
        seed_corpus(Path(folder))
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
