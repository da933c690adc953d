"""A due timer that meets a record that no longer reads is held and told once; the rest fire.

Found by a review of the fix that left such a timer out of ``due_timers``: due
timers are read ``limit`` (100) at a time, so 100 edited timer rows due first,
or 100 timers of an edited handoff, filled every batch and no other timer ever
fired. And such a timer was only logged, on every cycle, for ever. It is now
held, once, with a ``timer.held`` event and a helpdesk notice naming the ids,
and ``esc.timers.release(handoff_id, timer_id)`` puts it back once restored.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from escalate import CorruptRecord, Escalator, HandoffState, Identity, NotFound, Workflow
from escalate.identity import Contact
from escalate.store import MemoryStore, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import (
    Context,
    Effects,
    Notify,
    Opened,
    ResolveRequested,
    StartTimer,
    Step,
    TimerFired,
)
from escalate.workflow import effects as make_effects
from tests.conftest import WEB_FORM_CONSENT, make_thread, sql_rows

CASES = 3
#: Written by hand, without a zone: text that sorts before every time escalate writes.
EDITED = "2026-01-01 00:00"


def _desk(path: Path, clock: FakeClock, notices: list[Notify]) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        transports=[MemoryTransport(name="memory")],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        notifier=lambda _handoff, notify: notices.append(notify),
    )


def _cases(esc: Escalator, clock: FakeClock) -> list[str]:
    ids = []
    for n in range(CASES):
        case = esc.open(make_thread(clock, thread_id=str(n), user_id=str(100 + n)))
        esc.contact_provided(case.id, Identity.phone(f"+1415555014{n}"), consent=WEB_FORM_CONSENT)
        ids.append(case.id)
    esc.run_due()
    return ids


def _add_timers(path: Path, handoff_id: str, due_at: str, count: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO timers (id, tenant, handoff_id, name, due_at, status)"
            " VALUES (?, 'default', ?, ?, ?, 'pending')",
            [(f"tm_edited_{n:03d}", handoff_id, f"edited-{n}", due_at) for n in range(count)],
        )
    conn.close()


def _fired(path: Path) -> set[object]:
    return {
        row[0] for row in sql_rows(path, "SELECT handoff_id FROM timers WHERE status = 'fired'")
    }


def _held_events(esc: Escalator, handoff_id: str) -> list[dict[str, object]]:
    events = esc.store.events(esc.tenant, handoff_id=handoff_id)
    return [e.data for e in events if e.kind == "timer.held"]


def test_more_edited_timer_rows_than_a_batch_do_not_starve_the_others(
    tmp_path: Path, clock: FakeClock
) -> None:
    """150 timer rows whose due time no longer reads, due first, are held; every other one fires."""
    path = tmp_path / "e.db"
    notices: list[Notify] = []
    esc = _desk(path, clock, notices)
    cases = _cases(esc, clock)
    _add_timers(path, cases[0], EDITED, 150)

    clock.advance(hours=30)
    report = esc.run_due()
    assert _fired(path) == set(cases)
    assert report.timers_fired == CASES
    assert sql_rows(path, "SELECT COUNT(*) FROM timers WHERE held = 1") == [(150,)]
    assert len(_held_events(esc, cases[0])) == 150
    assert len([n for n in notices if n.topic == "unreadable_record"]) == 150
    esc.close()


def test_more_timers_of_an_edited_handoff_than_a_batch_do_not_starve_the_others(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """120 due timers of a handoff that no longer reads are held, told once; the others fire."""
    path = tmp_path / "e.db"
    notices: list[Notify] = []
    esc = _desk(path, clock, notices)
    bad, *good = _cases(esc, clock)
    _add_timers(path, bad, "2026-01-05T18:00:00.000000Z", 120)  # before every follow-up
    ((text,),) = sql_rows(path, "SELECT data FROM handoffs WHERE id = ?", bad)
    sql_rows(path, "UPDATE handoffs SET data = 'not json' WHERE id = ?", bad)
    esc.close()

    clock.advance(hours=30)
    esc = _desk(path, clock, notices)  # a fresh process: nothing decoded remembered
    with caplog.at_level(logging.WARNING, logger="escalate"):
        esc.run_due()
    assert _fired(path) == set(good)
    assert sql_rows(path, "SELECT COUNT(*) FROM timers WHERE handoff_id = ? AND held = 1", bad) == [
        (121,)  # its own follow-up too
    ]
    held = _held_events(esc, bad)
    assert len(held) == 121
    assert {(data["record"], data["record_id"]) for data in held} == {("handoff", bad)}
    assert not notices  # the notifier is told of a case: this one does not read
    assert caplog.text.count(" held, not fired") == 121

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="escalate"):
        esc.run_due()  # told once: nothing more
    assert " held, not fired" not in caplog.text
    assert len(_held_events(esc, bad)) == 121

    sql_rows(path, "UPDATE handoffs SET data = ? WHERE id = ?", text, bad)
    ((follow_up,),) = sql_rows(
        path,
        "SELECT id FROM timers WHERE handoff_id = ? AND held = 1 AND name NOT LIKE 'edited-%'",
        bad,
    )
    esc.timers.release(bad, follow_up)
    assert esc.run_due().timers_fired == 1
    assert sql_rows(path, "SELECT status FROM timers WHERE id = ?", follow_up) == [("fired",)]
    assert esc.verify_log().ok
    esc.close()


def test_an_edited_timer_row_is_held_told_once_and_released(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """One event and one notice name the timer by id (never its text); released, it fires."""
    path = tmp_path / "e.db"
    notices: list[Notify] = []
    esc = _desk(path, clock, notices)
    bad, *good = _cases(esc, clock)
    ((timer_id, text),) = sql_rows(
        path, "SELECT id, due_at FROM timers WHERE handoff_id = ? AND status = 'pending'", bad
    )
    sql_rows(path, "UPDATE timers SET due_at = ? WHERE id = ?", EDITED, timer_id)

    clock.advance(hours=30)
    assert esc.run_due().timers_fired == len(good)
    (held,) = [e for e in esc.history(bad) if e.kind == "timer.held"]
    assert held.data == {
        "reason": "unreadable_record",
        "timer_id": timer_id,
        "name": "reminder",
        "record": "timer",
        "record_id": timer_id,
        "detail": "due_at: no time zone",
    }
    (notice,) = notices
    reference = esc.handoffs.get(bad).reference
    assert notice.topic == "unreadable_record"
    assert f"case {reference}: timer {timer_id}" in notice.text
    assert f"esc.timers.release({bad!r}, {timer_id!r})" in notice.text
    assert EDITED not in notice.text

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="escalate"):
        assert esc.run_due().idle
    assert timer_id not in caplog.text
    assert len(notices) == 1

    sql_rows(path, "UPDATE timers SET due_at = ? WHERE id = ?", text, timer_id)  # restored
    esc.timers.release(bad, timer_id)
    assert [e.data for e in esc.history(bad) if e.kind == "timer.released"] == [
        {"timer_id": timer_id}
    ]
    assert esc.run_due().timers_fired == 1
    assert sql_rows(path, "SELECT status FROM timers WHERE id = ?", timer_id) == [("fired",)]
    with pytest.raises(NotFound):
        esc.timers.release(bad, timer_id)  # fired: nothing held
    assert esc.verify_log().ok
    esc.close()


def test_a_timer_released_before_its_row_is_restored_is_held_and_told_again(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Releasing too early only holds it again, with a notice of its own."""
    path = tmp_path / "e.db"
    notices: list[Notify] = []
    esc = _desk(path, clock, notices)
    bad, *_ = _cases(esc, clock)
    ((timer_id,),) = sql_rows(
        path, "SELECT id FROM timers WHERE handoff_id = ? AND status = 'pending'", bad
    )
    sql_rows(path, "UPDATE timers SET due_at = '0' WHERE id = ?", timer_id)
    clock.advance(hours=30)
    esc.run_due()
    esc.timers.release(bad, timer_id)
    esc.run_due()
    assert len(notices) == 2
    assert sql_rows(path, "SELECT held FROM timers WHERE id = ?", timer_id) == [(1,)]
    esc.close()


# -- any store: a contact that no longer reads, met by a timer's transition ---------------


class _EditedContact(MemoryStore):
    """A store whose contacts no longer read once ``broken``: any store may raise it."""

    broken = False

    def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        if self.broken:
            raise CorruptRecord("contact", record_id=contact_id, detail="identities: bad")
        return super().get_contact(tenant, contact_id)


def _nudge(handoff: object, _: Opened, ctx: Context) -> Effects:
    return make_effects(StartTimer(name="nudge", due_at=ctx.now + timedelta(hours=1)))


#: A timer whose step reads the contact's addresses (as a fallback does).
NUDGING = Workflow(
    "nudging",
    [
        Step(
            HandoffState.OPENED,
            Opened,
            HandoffState.ACKNOWLEDGED,
            "ack, nudge in an hour",
            _nudge,
            starts=("nudge",),
        ),
        Step(
            HandoffState.ACKNOWLEDGED,
            TimerFired,
            HandoffState.ABANDONED,
            "no answer",
            timer="nudge",
            uses_addresses=True,
        ),
        Step(HandoffState.ACKNOWLEDGED, ResolveRequested, HandoffState.RESOLVED, "resolved"),
    ],
)


def _memory_desk(store: MemoryStore, clock: FakeClock, notices: list[Notify]) -> Escalator:
    return Escalator(
        store,
        clock=clock,
        workflow=NUDGING,
        dispatch_immediately=False,
        notifier=lambda _handoff, notify: notices.append(notify),
    )


def test_a_timer_whose_contact_no_longer_reads_is_held_with_a_notice(clock: FakeClock) -> None:
    """MemoryStore holds it as SQLite does: one event, one notice; released, it fires."""
    store = _EditedContact()
    notices: list[Notify] = []
    esc = _memory_desk(store, clock, notices)
    case = esc.open(make_thread(clock))
    other = esc.open(make_thread(clock, thread_id="2", user_id="200"))
    clock.advance(hours=2)
    store.broken = True
    assert esc.run_due().timers_fired == 0
    assert esc.run_due().idle  # told once
    held = [e for e in store.events(esc.tenant) if e.kind == "timer.held"]
    assert sorted(str(e.handoff_id) for e in held) == sorted([case.id, other.id])
    assert {e.data["record"] for e in held} == {"contact"}
    assert len(notices) == 2  # one per case

    store.broken = False
    for handoff_id in (case.id, other.id):
        (event,) = [e for e in esc.history(handoff_id) if e.kind == "timer.held"]
        esc.timers.release(handoff_id, str(event.data["timer_id"]))
    assert esc.run_due().timers_fired == 2
    assert esc.handoffs.get(case.id).state is HandoffState.ABANDONED


def test_a_held_timer_the_workflow_cancels_is_not_released(clock: FakeClock) -> None:
    """Resolving a case cancels its held timer too: there is nothing left to release."""
    store = _EditedContact()
    esc = _memory_desk(store, clock, [])
    case = esc.open(make_thread(clock))
    clock.advance(hours=2)
    store.broken = True
    esc.run_due()
    store.broken = False
    (held,) = [e for e in esc.history(case.id) if e.kind == "timer.held"]
    esc.resolve(case.id)
    with pytest.raises(NotFound):
        esc.timers.release(case.id, str(held.data["timer_id"]))
    clock.advance(days=1)
    assert esc.run_due().timers_fired == 0
