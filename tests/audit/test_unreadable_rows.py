"""SQLite audit rows edited into something that no longer reads as an event.

``MemoryStore`` keeps events as models, never as text, so it has no such rows.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalate import Escalator, Workflow
from escalate.audit import ProblemKind
from escalate.audit._stored import UNREADABLE
from escalate.store import SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from tests.audit.test_tampering import run_handoffs

#: How each row is corrupted: an SQL expression for its new ``data``.
CORRUPTIONS = {
    "invalid JSON": "'garbage'",
    "JSON that is not an object": "'[]'",
    "a field of the wrong type": "json_set(data, '$.at', 'yesterday')",
    "text that is not UTF-8": "CAST(x'7bff7d' AS TEXT)",
}


@pytest.fixture
def logged(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Escalator, Path, list[str]]]:
    path = tmp_path / "escalate.db"
    esc = Escalator(
        SQLiteStore(path),
        transports=[MemoryTransport()],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
    )
    ids = run_handoffs(esc, clock)
    yield esc, path, ids
    esc.close()


def corrupt(path: Path, event_id: str, data_sql: str) -> int:
    """Set the event's ``data`` to ``data_sql`` behind the store's back; return its seq."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"UPDATE events SET data = {data_sql} WHERE id = ?", (event_id,))
        return int(conn.execute("SELECT seq FROM events WHERE id = ?", (event_id,)).fetchone()[0])
    finally:
        conn.close()


def delete(path: Path, event_id: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
    conn.close()


@pytest.mark.parametrize("data_sql", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_verify_log_reports_an_unreadable_row_and_checks_the_rest(
    logged: tuple[Escalator, Path, list[str]], data_sql: str
) -> None:
    """The unreadable row is reported as edited, and a deletion elsewhere is still found."""
    esc, path, (first, second) = logged
    target = esc.history(first)[2]
    deleted, after = esc.history(second)[1:3]
    seq = corrupt(path, target.id, data_sql)
    delete(path, deleted.id)

    report = esc.verify_log()

    found = [(problem.kind, problem.chain, problem.seq) for problem in report.problems]
    assert found == [
        (ProblemKind.EDITED, f"handoff:{first}", seq),
        (ProblemKind.MISSING, f"handoff:{second}", after.seq),
    ]
    assert report.problems[0].event_id == target.id
    assert report.problems[0].detail == UNREADABLE
    one = esc.verify_log(handoff_id=first)
    assert [(problem.kind, problem.seq) for problem in one.problems] == [(ProblemKind.EDITED, seq)]


def test_a_row_rewritten_as_equivalent_json_still_verifies(
    logged: tuple[Escalator, Path, list[str]],
) -> None:
    """Rows written before the store kept canonical text hash once put back in canonical form."""
    esc, path, (first, _) = logged
    target = esc.history(first)[2]
    conn = sqlite3.connect(path, isolation_level=None)
    (data,) = conn.execute("SELECT data FROM events WHERE id = ?", (target.id,)).fetchone()
    pydantic_like = json.dumps(json.loads(data), indent=1)
    conn.execute("UPDATE events SET data = ? WHERE id = ?", (pydantic_like, target.id))
    conn.close()

    assert esc.verify_log().ok


def test_a_row_with_a_recomputed_hash_over_garbage_is_found(
    logged: tuple[Escalator, Path, list[str]],
) -> None:
    """Text that hashes right but is no event is still an edit, not a verified event."""
    esc, path, (first, _) = logged
    target = esc.history(first)[2]
    forged = hashlib.sha256(f"{target.prev_hash}\n[]".encode()).hexdigest()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE events SET data = '[]', hash = ? WHERE id = ?", (forged, target.id))
    conn.close()

    problems = esc.verify_log().problems

    assert (ProblemKind.EDITED, target.seq, UNREADABLE) in {
        (problem.kind, problem.seq, problem.detail) for problem in problems
    }
