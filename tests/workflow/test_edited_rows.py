"""One row edited outside escalate does not stop ``run_due()`` for every other handoff.

Found by a review: an outbox row or a handoff row that no longer read raised
pydantic's error out of every ``run_due()``, in the claim or in ``fire_timers``,
before anything else was sent or fired. The unreadable row now waits (a handoff's
rows, until the row is restored) or is held (an outbox row; a timer, of its own
row or of its handoff), logged by id, and the rest goes on.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from escalate import Escalator, Identity, Workflow
from escalate.store import OutboxStatus, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread, sql_rows

CASES = 3


def _desk(path: Path, clock: FakeClock, sms: MemoryTransport, concurrency: int) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        concurrency=concurrency,
    )


def _cases(esc: Escalator, clock: FakeClock) -> list[str]:
    ids = []
    for n in range(CASES):
        case = esc.open(make_thread(clock, thread_id=str(n), user_id=str(100 + n)))
        esc.contact_provided(case.id, Identity.phone(f"+1415555014{n}"), consent=WEB_FORM_CONSENT)
        ids.append(case.id)
    return ids


def _intro_status(esc: Escalator, handoff_id: str) -> list[OutboxStatus]:
    return [
        row.status
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff_id)
        if isinstance(row.command, SendMessage)
    ]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_unreadable_handoff_leaves_its_rows_waiting_and_the_rest_are_sent(
    tmp_path: Path, clock: FakeClock, concurrency: int
) -> None:
    """The edited handoff's rows wait, pending; the others go; restored, it goes once."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms, concurrency)
    bad, *good = _cases(esc, clock)
    ((text,),) = sql_rows(path, "SELECT data FROM handoffs WHERE id = ?", bad)
    sql_rows(path, "UPDATE handoffs SET data = '{}' WHERE id = ?", bad)
    esc.close()

    esc = _desk(path, clock, sms, concurrency)  # a fresh process: nothing decoded remembered
    esc.run_due()
    assert len(sms.sent) == len(good)
    assert _intro_status(esc, good[0]) == [OutboxStatus.DONE]
    assert sql_rows(path, "SELECT DISTINCT status FROM outbox WHERE handoff_id = ?", bad) == [
        ("pending",)
    ]
    esc.run_due()  # met again: still waiting, still not stopping the run
    sql_rows(path, "UPDATE handoffs SET data = ? WHERE id = ?", text, bad)
    clock.advance(minutes=5)
    esc.run_due()
    assert len(sms.sent) == CASES
    assert _intro_status(esc, bad) == [OutboxStatus.DONE]
    assert esc.verify_log().ok
    esc.close()


def test_an_unreadable_handoff_has_its_timer_held_and_the_others_fire(
    tmp_path: Path, clock: FakeClock
) -> None:
    """fire_timers holds the edited handoff's timer (still pending) and fires every other one."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms, 1)
    bad, *good = _cases(esc, clock)
    esc.run_due()
    sql_rows(path, "UPDATE handoffs SET data = 'not json' WHERE id = ?", bad)
    esc.close()

    clock.advance(hours=30)
    esc = _desk(path, clock, sms, 1)
    report = esc.run_due()
    assert report.timers_fired >= len(good)
    fired = sql_rows(path, "SELECT DISTINCT handoff_id FROM timers WHERE status = 'fired'")
    assert {row[0] for row in fired} == set(good)
    assert sql_rows(
        path, "SELECT COUNT(*) FROM timers WHERE handoff_id = ? AND status = 'pending'", bad
    ) == [(1,)]
    assert sql_rows(
        path, "SELECT held FROM timers WHERE handoff_id = ? AND status = 'pending'", bad
    ) == [(1,)]
    esc.run_due()  # held: not met again, not stopping the run
    esc.close()


def test_an_unreadable_outbox_row_is_held_and_every_other_row_is_sent(
    tmp_path: Path, clock: FakeClock
) -> None:
    """An outbox row whose command no longer reads is held, never sent; the rest go."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms, 1)
    first, *_ = _cases(esc, clock)
    ((row_id,),) = sql_rows(
        path,
        "SELECT id FROM outbox WHERE handoff_id = ?"
        " AND json_extract(command, '$.kind') = 'send_message'",
        first,
    )
    sql_rows(path, 'UPDATE outbox SET command = \'{"kind": "nope"}\' WHERE id = ?', row_id)
    esc.run_due()
    assert len(sms.sent) == CASES - 1
    assert sql_rows(path, "SELECT status FROM outbox WHERE id = ?", row_id) == [("held",)]
    esc.run_due()
    assert len(sms.sent) == CASES - 1
    esc.close()


@pytest.mark.parametrize("due_at", ["2026-01-05 18:00", "0", "2026-00-01T00:00:00Z"])
def test_an_unreadable_timer_row_is_held_and_the_others_fire(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture, due_at: str
) -> None:
    """A timer whose due time was edited (no zone, not a time) is held; every other one fires."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms, 1)
    bad, *good = _cases(esc, clock)
    esc.run_due()
    ((timer_id, text),) = sql_rows(
        path, "SELECT id, due_at FROM timers WHERE handoff_id = ? AND status = 'pending'", bad
    )
    sql_rows(path, "UPDATE timers SET due_at = ? WHERE id = ?", due_at, timer_id)

    clock.advance(hours=30)
    with caplog.at_level(logging.WARNING, logger="escalate"):
        report = esc.run_due()
    assert report.timers_fired == len(good)
    assert f"timer {timer_id} of handoff {bad} held, not fired" in caplog.text
    assert repr(due_at) not in caplog.text  # what fromisoformat's own message quotes
    assert sql_rows(path, "SELECT status, held FROM timers WHERE id = ?", timer_id) == [
        ("pending", 1)
    ]
    sql_rows(path, "UPDATE timers SET due_at = ? WHERE id = ?", text, timer_id)  # restored
    assert esc.run_due().timers_fired == 0  # held until released
    esc.timers.release(bad, timer_id)
    assert esc.run_due().timers_fired == 1
    assert sql_rows(path, "SELECT status FROM timers WHERE id = ?", timer_id) == [("fired",)]
    esc.close()
