"""``escalate worker MODULE:ATTR``: loading the application's escalator, --once, and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from escalate import Escalator, InvalidInput
from escalate._worker_cli import load_escalator
from escalate.cli import main

ROOT = Path(__file__).resolve().parents[1]

#: An application module: an escalator on a SQLite file, with one case waiting on its intro.
APP = """
from datetime import UTC, datetime

from escalate import ConsentEvidence, ConsentSource, Escalator, Identity, Thread, Workflow
from escalate.testing import MemoryTransport, RecordingPublisher

DB = {db!r}


def make():
    return Escalator(
        store=f"sqlite:///{{DB}}",
        transports=[MemoryTransport(name="memory")],
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
    )


calls = []


def counting():
    # make(), noting each run_due and close call in calls
    made = make()
    run_due, close = made.run_due, made.close
    made.run_due = lambda **options: calls.append(("run_due", options)) or run_due(**options)
    made.close = lambda: calls.append(("close", {{}})) or close()
    return made


esc = make()
settings = {{"nested": esc}}
not_one = 42
"""


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a fresh application module, importable from the working directory."""
    name = f"app_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(APP.format(db=str(tmp_path / "app.db")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return name


def test_an_escalator_a_dotted_one_and_a_factory_are_loaded(app: str) -> None:
    first = load_escalator(f"{app}:esc")
    assert isinstance(first, Escalator)
    assert load_escalator(f"{app}:esc") is first
    made = load_escalator(f"{app}:make")
    assert isinstance(made, Escalator)
    assert made is not first
    made.close()
    first.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{app}", "expected MODULE:ATTR"),
        (":esc", "expected MODULE:ATTR"),
        ("{app}:", "expected MODULE:ATTR"),
        ("no_such_module_here:esc", "no module named 'no_such_module_here'"),
        ("{app}:missing", "has no attribute 'missing'"),
        ("{app}:not_one", "is a int, not an Escalator"),
        ("{app}:settings", "is a dict, not an Escalator"),
    ],
)
def test_a_bad_spec_is_refused_clearly(app: str, spec: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_escalator(spec.format(app=app))


def test_a_module_that_fails_to_import_shows_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its missing dependency is the user's to see, not hidden as 'no module named app'."""
    name = f"broken_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("import a_dependency_nobody_installed\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_nobody_installed"):
        load_escalator(f"{name}:esc")


def test_once_runs_one_cycle_closes_and_exits(app: str) -> None:
    assert main(["worker", f"{app}:counting", "--once", "--limit", "7"]) == 0
    assert sys.modules[app].calls == [("run_due", {"limit": 7}), ("close", {})]


def test_bad_options_exit_2_with_one_line(app: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", f"{app}:make", "--interval", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        "escalate worker: error: interval must be a positive, finite number of seconds"
    )
    assert main(["worker", "nocolon"]) == 2
    assert "expected MODULE:ATTR" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal")
def test_sigterm_stops_the_loop_after_its_cycle(tmp_path: Path) -> None:
    name = f"app_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(APP.format(db=str(tmp_path / "app.db")))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    worker = subprocess.Popen(
        [sys.executable, "-m", "escalate", "worker", f"{name}:make", "--interval", "0.05"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stderr is not None
    try:
        line = worker.stderr.readline()  # the first log line says it is running
        assert "running Escalator(" in line, line
        time.sleep(0.2)  # a few idle cycles
        worker.send_signal(signal.SIGTERM)
        _, rest = worker.communicate(timeout=20)
    finally:
        worker.kill()
    assert worker.returncode == 0, rest
    assert "SIGTERM: stopping after this cycle" in rest
    assert "stopped: timers_fired 0, sent 0" in rest
