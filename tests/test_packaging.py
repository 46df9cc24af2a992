"""The wheel and sdist as a user gets them: built from the checkout (python -m build), holding the
shipped models, the demo photos and the web page; the wheel installed alone (no extras) into a
fresh venv runs the demo and analyze, and each command that needs an extra says which in one
line (exit 2, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PACKAGED = ["grinlab/models/emotion7.onnx", "grinlab/models/smile.json", "grinlab/models/valence.onnx",
            "grinlab/demo_photos/solvay_1927.jpg", "grinlab/web/static/index.html"]  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    pytest.importorskip("build", reason="needs the dev extra (build)")
    root = tmp_path_factory.mktemp("pkg")
    dist = root / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", str(dist),
                    str(REPO)], check=True, capture_output=True)  # fmt: skip
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
                         capture_output=True, text=True)  # fmt: skip
    if pip.returncode != 0:
        pytest.skip(
            f"cannot install the wheel's dependencies here (no package registry?): {pip.stderr[-300:]}"
        )
    return {"wheel": wheel, "sdist": sdist, "bin": venv / "bin", "root": root}


def grinlab(installed, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        GRINLAB_NO_PROGRESS="1", GRINLAB_CACHE=str(installed["root"] / "cache")
    )  # no YuNet cached: Haar
    return subprocess.run([str(installed["bin"] / "grinlab"), *args], capture_output=True, text=True, env=env,
                          cwd=installed["root"], timeout=300)  # fmt: skip


def test_wheel_and_sdist_hold_the_models_photos_and_page(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert all(p in names for p in PACKAGED), sorted(set(PACKAGED) - names)
    with tarfile.open(installed["sdist"]) as tar:
        sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert all(f"src/{p}" in sdist for p in PACKAGED)


def test_the_core_alone_runs_the_demo_and_analyze(installed, photos_dir):
    demo = grinlab(installed, "demo", "--out", "demo")
    assert demo.returncode == 0, demo.stderr
    assert "solvay_1927.jpg" in demo.stdout and (installed["root"] / "demo" / "results.jsonl").is_file()
    photo = photos_dir / "white_house" / "obama.jpg"
    analyzed = grinlab(installed, "analyze", str(photo), "--out", "an", "--csv")
    assert analyzed.returncode == 0, analyzed.stderr
    assert "1 face(s)" in analyzed.stdout
    torch = subprocess.run([str(installed["bin"] / "python"), "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
                           capture_output=True, text=True)  # fmt: skip
    assert torch.stdout.strip() == "None"  # really without the train extra


@pytest.mark.parametrize(
    "args, extra",
    [
        (["train", "--data", "x", "--task", "smile", "--out", "run"], "train"),
        (
            ["teacher-views", "--data", "x", "--task", "emotion7", "--teacher", "emotion7", "--out", "v"],
            "train",
        ),
        (["export", "run", "--out", "m.onnx"], "train"),
        (["evaluate", "--model", "smile", "--data", "photos", "--out", "report"], "train"),
        (["visualize", "run", "--image", "x.jpg", "--out", "vis"], "train"),
        (["serve"], "web"),
    ],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line(installed, args, extra):
    done = grinlab(installed, *args)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"needs the '{extra}' extra" in lines[0] and f"pip install 'grinlab[{extra}]'" in lines[0]
    assert not (installed["root"] / "report").exists()  # nothing half-written
