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

from escalate import CorruptRecord, EscalateError, Escalator
from escalate.audit import ProblemKind
from escalate.audit._stored import UNREADABLE
from escalate.cli import main
from escalate.testing import FakeClock
from tests.audit.test_tampering import run_handoffs, sqlite_escalator

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
    esc = sqlite_escalator(path, clock)
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


@pytest.mark.parametrize("data_sql", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_history_of_an_unreadable_row_raises_corrupt_record(
    logged: tuple[Escalator, Path, list[str]], data_sql: str
) -> None:
    """history() names the row with a typed error that quotes none of its content."""
    esc, path, (first, second) = logged
    seq = corrupt(path, esc.history(first)[2].id, data_sql)

    with pytest.raises(CorruptRecord) as caught:
        esc.history(first)

    assert isinstance(caught.value, EscalateError)
    assert (caught.value.seq, caught.value.handoff_id) == (seq, first)
    assert "verify_log" in str(caught.value)
    assert "garbage" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__  # pydantic's error quotes the row
    assert esc.history(second)  # other handoffs still read


@pytest.mark.parametrize("data_sql", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_report_cli_on_an_unreadable_row_prints_one_line(
    logged: tuple[Escalator, Path, list[str]], data_sql: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`escalate report` exits 1 with a message naming the row and verify_log, no traceback."""
    esc, path, (first, _) = logged
    seq = corrupt(path, esc.history(first)[2].id, data_sql)

    assert main(["report", "--store", f"sqlite:///{path}"]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"escalate report: error: the audit event at seq {seq},")
    assert "verify_log()" in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err.splitlines()) == 1


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
