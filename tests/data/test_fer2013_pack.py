"""benchmarks/fer2013_pack.py, which carries FER2013 (and a subset's FER+ votes) to a GPU machine:
the unpacked csv and votes must load as the same faces and labels as the originals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from grinlab.data import load_splits

PACK = Path(__file__).resolve().parents[2] / "benchmarks" / "fer2013_pack.py"


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PACK), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def test_a_subset_with_its_ferplus_votes_loads_as_the_original_rows(fer2013_csv, ferplus_csv, tmp_path):
    done = run("pack", fer2013_csv, tmp_path / "pack", "--usage", "Training:300", "--usage", "PublicTest:60",
               "--ferplus", ferplus_csv)  # fmt: skip
    assert done.returncode == 0, done.stderr
    csv, votes = tmp_path / "fer.csv", tmp_path / "ferplus" / "fer2013new.csv"
    done = run("unpack", tmp_path / "pack", csv, "--ferplus", votes)
    assert done.returncode == 0, done.stderr
    options = dict(task="emotion8", label_mode="soft")
    small = load_splits(csv, ferplus=str(votes), cache=False, **options)
    full = load_splits(fer2013_csv, ferplus=str(ferplus_csv), **options)
    for split in ("train", "val"):
        ours, theirs = small[split], full[split]
        n = len(ours)
        assert 0 < n <= (300 if split == "train" else 60)  # FER+ drops a few rows in both
        # the first rows of each usage, so the subset's kept faces are the full split's first ones
        assert np.array_equal(np.stack(ours.images), np.stack(theirs.images[:n]))
        assert np.array_equal(ours.labels, theirs.labels[:n])
        assert np.allclose(ours.soft_labels, theirs.soft_labels[:n])


def test_votes_of_another_csv_are_one_line(fer2013_csv, tmp_path):
    wrong = tmp_path / "fer2013new.csv"
    wrong.write_text("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
                     "Training,fer0000000.png,10,0,0,0,0,0,0,0,0,0\n")  # fmt: skip
    done = run("pack", fer2013_csv, tmp_path / "pack", "--usage", "Training:10", "--ferplus", wrong)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "has 1 rows but the fer2013 csv has" in done.stderr.strip().splitlines()[-1]
    done = run("unpack", tmp_path / "nothing", tmp_path / "x.csv")
    assert done.returncode == 2 and "no manifest.json" in done.stderr
