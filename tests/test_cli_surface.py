"""The ``themes`` command line: help, version, and one-line user errors."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import themes
from themes.cli import main

SUBCOMMANDS = [
    "run",
    "ingest",
    "tag",
    "tag-texts",
    "train",
    "evaluate",
    "topics",
    "trends",
    "summary",
    "export",
    "codebook",
    "synth",
]


def _exit_code(argv: list[str]) -> int:
    """Run ``main`` and return its status, whether it returns or raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as stop:
        return 0 if stop.code is None else stop.code


def _assert_one_line_user_error(code: int, stderr: str) -> str:
    assert code == 2
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {stderr!r}"
    assert lines[0].startswith("themes: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def themes_script() -> Path:
    script = Path(sys.executable).parent / "themes"
    if not script.exists():
        found = shutil.which("themes")
        assert found, "the 'themes' console script is not installed"
        script = Path(found)
    return script


def test_top_level_help_lists_every_subcommand(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: themes")
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", out, re.M), f"'{name}' missing from help"
    assert "examples:" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_has_examples(name, capsys):
    assert _exit_code([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: themes {name}")
    assert "examples:" in out
    examples = out.split("examples:", 1)[1]
    assert f"themes {name}" in examples, f"'themes {name} --help' shows no example of itself"


def test_version(capsys):
    assert _exit_code(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"themes {themes.__version__}"
    assert themes.__version__ == importlib.metadata.version("safeguarding-themes")


def test_unknown_option_is_one_line_error(tmp_path, capsys):
    code = _exit_code(["synth", "--out", str(tmp_path / "x"), "--no-such-option"])
    captured = capsys.readouterr()
    line = _assert_one_line_user_error(code, captured.err)
    assert "--no-such-option" in line
    assert captured.out == ""
    assert not (tmp_path / "x").exists()


def test_unknown_top_level_option_is_one_line_error(capsys):
    code = _exit_code(["--no-such-option"])
    _assert_one_line_user_error(code, capsys.readouterr().err)


def test_bad_choice_is_one_line_error(tmp_path, capsys):
    code = _exit_code(["export", str(tmp_path), "--out", str(tmp_path / "x"), "--format", "doc"])
    line = _assert_one_line_user_error(code, capsys.readouterr().err)
    assert "--format" in line


def test_user_mistake_in_handler_is_one_line_error(tmp_path, capsys):
    out = tmp_path / "X"
    code = _exit_code(["synth", "--out", str(out), "--formats", "nope", "--reviews", "1"])
    line = _assert_one_line_user_error(code, capsys.readouterr().err)
    assert "--formats" in line and "nope" in line
    assert not out.exists(), "a rejected command must not write outputs"


def test_console_script_help(themes_script):
    result = subprocess.run(
        [str(themes_script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", result.stdout, re.M)


def test_console_script_version(themes_script):
    result = subprocess.run(
        [str(themes_script), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"themes {themes.__version__}"


def test_console_script_user_error(themes_script, tmp_path):
    out = tmp_path / "X"
    result = subprocess.run(
        [str(themes_script), "synth", "--out", str(out), "--formats", "nope", "--reviews", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    line = _assert_one_line_user_error(result.returncode, result.stderr)
    assert "nope" in line
    assert result.stdout == ""
    assert not out.exists()
