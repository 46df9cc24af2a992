"""The console script: every subcommand has --help; user errors are one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grinlab.cli import COMMANDS, build_parser, main


def test_every_command_is_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "usage: grinlab " + command in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "analyze" in capsys.readouterr().out


def test_console_script_error_is_one_line_without_traceback(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "grinlab",
            "analyze",
            str(tmp_path / "missing.jpg"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.stderr
    assert "no such file or folder" in res.stderr


def test_a_closed_pipe_ends_quietly():
    """`grinlab models --json | head -1` with the reader already gone: no BrokenPipeError traceback."""
    import os
    import subprocess
    import sys

    for args, code in ((["models", "--json"], 141), (["models"], 141), (["--help"], 0)):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader has gone before the first write
        done = subprocess.run([sys.executable, "-m", "grinlab", *args], stdout=write_end, stderr=subprocess.PIPE,
                              env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"})  # fmt: skip
        os.close(write_end)
        assert done.stderr.decode() == "", args
        assert done.returncode == code, args  # 141 = 128 + SIGPIPE, as a shell reports `yes | head`


def test_models_lists_each_accuracy_with_its_95_percent_interval(capsys):
    assert main(["models"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "accuracy" in line]
    assert lines and all("(95% " in line for line in lines if "n=" in line)
    # emotion7's PublicTest: 3,588 faces leave about +-1.5 points
    val = next(line for line in lines if "n=3588" in line)
    lo, hi = (float(v) for v in val.split("(95% ")[1].split(")")[0].split("-"))
    assert 0.025 < hi - lo < 0.035
