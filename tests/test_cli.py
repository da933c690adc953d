"""The `escalate` command line."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import escalate
from escalate._demo import run_demo
from escalate._ids import REFERENCE_PATTERN
from escalate.cli import main
from escalate.store import SQLiteStore

REFERENCE_IN_TEXT = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2,}\b")


def test_demo_prints_the_whole_timeline(capsys: pytest.CaptureFixture[str]) -> None:
    """`escalate demo` runs a handoff to resolved and prints each step and the reference code."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for step in ("public post", "public reply", "consent", "private SMS", "reply", "resolved"):
        assert step in out
    codes = set(REFERENCE_IN_TEXT.findall(out))
    assert len(codes) == 1
    (code,) = codes
    assert REFERENCE_PATTERN.match(code)
    assert f"Reference code: {code}" in out
    assert "555" not in out, "the demo's phone number must be redacted"


def test_demo_on_an_unopenable_database_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db in a missing directory is an error message and exit 2, not a traceback."""
    assert main(["demo", "--db", str(tmp_path / "missing" / "x.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("escalate demo: error: cannot open SQLite database")
    assert "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_demo_writes_a_real_sqlite_file(tmp_path: Path) -> None:
    """The demo's handoff is durable: reopening its SQLite file finds it resolved."""
    database = tmp_path / "demo.db"
    result = run_demo(Console(file=io.StringIO(), emoji=False), database)
    store = SQLiteStore(database)
    try:
        stored = store.get_handoff("default", result.handoff.id)
        assert stored is not None
        assert stored.state.value == "resolved"
        assert [event.kind for event in store.events("default", handoff_id=stored.id)] == [
            event.kind for event in result.events
        ]
    finally:
        store.close()


def test_version_and_help() -> None:
    """`escalate --version` prints the package version; `--help` lists the demo command."""
    version = subprocess.run(
        [sys.executable, "-m", "escalate", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == f"escalate {escalate.__version__}"
    help_text = subprocess.run(
        [sys.executable, "-m", "escalate", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in help_text.stdout


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    """Running `escalate` with no command shows the help and exits non-zero."""
    assert main([]) == 2
    assert "usage: escalate" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["demo"], ["report", "--json"]])
def test_a_closed_pipe_ends_the_command_without_a_traceback(
    command: list[str], tmp_path: Path
) -> None:
    """`escalate report --json | head -1`: a reader that went away is exit 1, not a traceback."""
    assert main(["demo", "--db", str(tmp_path / "escalate.db")]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "escalate", *command],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
