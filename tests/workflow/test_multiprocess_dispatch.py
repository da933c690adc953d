"""A short run of bench/multiprocess_dispatch.py: worker processes on one SQLite file.

Three `run_due()` worker processes, a desk process (replies, agent messages,
resolutions, with its verbs dispatching at once) and an intake process share
one store and one clock for a few seconds; one worker is killed with SIGKILL
and started again, another is stopped past its lease and continued. The bench
checks that no row, idempotency key or public reply went out twice, that
nothing was left unsettled (a held row is listed by ``esc.outbox.held()``), that
no reminder claimed after the customer's reply went out, that no error (a
``database is locked`` above all) reached a worker, and that the audit log
verifies. The long run is the bench itself (see docs/delivery.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import escalate

BENCH = Path(__file__).resolve().parents[2] / "bench" / "multiprocess_dispatch.py"


def test_worker_processes_sharing_one_sqlite_file_send_each_row_once(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(BENCH),
        *("--handoffs", "120", "--arrivals", "240", "--workers", "3"),
        *("--seconds", "6", "--kills", "1", "--pauses", "1", "--directory", str(tmp_path)),
    ]
    # The processes run the escalate this test imported, wherever it came from.
    source = str(Path(escalate.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env=env, check=False
    )
    summary = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert summary["problems"] == [], done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, done.stderr[-2000:]
    counts = summary["counts"]
    # The run did what it is meant to: the faults happened, and the traffic they met.
    assert summary["kills"] == 1
    assert counts["pauses"] == 1
    # Every case opened, and each got at least its public reply and its intro
    # through to an end (a row count that does not hang on this host's speed:
    # reminders come with the simulated hours a loaded host lives through).
    assert counts["cases"] == 120 + 240
    statuses = summary["statuses"]
    ended = statuses["done"] + statuses.get("held", 0) + statuses.get("cancelled", 0)
    assert ended >= 2 * counts["cases"]
    assert counts["reply"] > 0
    assert counts["agent"] > 0
    assert counts["reminders_sent"] > 0
