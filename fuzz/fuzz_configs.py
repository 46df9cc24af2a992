"""Coverage-guided fuzzing of the two files users hand grinlab besides images and datasets: model
cards (grinlab.modelcard.ModelCard.from_json) and smile-gate configs (grinlab.gate.parse_config,
TOML). The first input byte picks the target. Allowed outcomes: an object, or a GrinlabError.

    python fuzz/fuzz_configs.py -runs=100000 -max_len=4096 -timeout=10 fuzz/corpus/configs
"""

from __future__ import annotations

from pathlib import Path

import atheris
from harness import fuzz

with atheris.instrument_imports():
    from grinlab.errors import GrinlabError
    from grinlab.gate import parse_config
    from grinlab.modelcard import ModelCard

ROOT = Path(__file__).resolve().parents[1]


def seed_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        return
    for card in sorted((ROOT / "src" / "grinlab" / "models").glob("*.json")):
        (folder / f"card-{card.stem}").write_bytes(b"C" + card.read_bytes())
    gate = b'[gate]\nthreshold = 0.6\nhold_s = 1.0\nsnapshots = true\n[actions]\non = ["opened"]\ncommand = "echo hi"\n'
    (folder / "gate").write_bytes(b"G" + gate)
    (folder / "gate-webhook").write_bytes(
        b'G[actions]\nwebhook = "http://localhost:1/x"\nhook = "m:f"\ntimeout_s = 2\n'
    )


def test_one_input(data: bytes) -> None:
    if not data:
        return
    try:
        if data[0] % 2:
            ModelCard.from_json(data[1:], "fuzz.json")
        else:
            parse_config(data[1:], "fuzz.toml")
    except GrinlabError:
        return


def main() -> None:
    fuzz(test_one_input, seed_corpus)


if __name__ == "__main__":
    main()
