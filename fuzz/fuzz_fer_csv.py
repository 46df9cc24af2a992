"""Coverage-guided fuzzing of the FER2013 csv parser (grinlab.data.fer2013.parse_rows) with atheris.
Allowed outcomes: parsed rows, or a GrinlabError naming the row; anything else is a finding.

    python fuzz/fuzz_fer_csv.py -runs=100000 -max_len=32768 -timeout=10 -rss_limit_mb=2048 fuzz/corpus/fer_csv

Seeds (written on first use): a valid file of three rows, a blank image, odd spacing and quoting.
"""

from __future__ import annotations

from pathlib import Path

import atheris
from harness import fuzz

with atheris.instrument_imports():
    from grinlab.data.fer2013 import HEADER, parse_rows
    from grinlab.errors import GrinlabError


def seed_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    pixels = " ".join(str((7 * i) % 256) for i in range(2304))
    rows = [f"3,{pixels},Training", f"6,{' '.join(['0'] * 2304)},PublicTest", f'0,"{pixels}",PrivateTest']
    (folder / "valid.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    (folder / "crlf.csv").write_text("\r\n".join([HEADER, rows[0].replace(" ", "  ", 3)]) + "\r\n")
    (folder / "bom.csv").write_text("\ufeff" + HEADER + "\n" + rows[2] + "\n")


def test_one_input(data: bytes) -> None:
    try:
        rows = parse_rows(data, "fuzz.csv")
    except GrinlabError:
        return
    n = len(rows["emotion"])
    if rows["pixels"].shape != (n, 48, 48) or rows["pixels"].dtype.name != "uint8":
        raise AssertionError(f"parse_rows returned pixels {rows['pixels'].shape} for {n} rows")


def main() -> None:
    fuzz(test_one_input, seed_corpus)


if __name__ == "__main__":
    main()
