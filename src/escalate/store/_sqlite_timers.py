"""Due timers read from SQLite rows, those that no longer read included; holds and releases.

A timer row edited outside escalate (a due time written by hand without its
zone, ``2026-01-05 18:00``) raised out of every ``due_timers``, so no timer of
any handoff fired and ``run_due()`` failed on every cycle. Such a row is read
as a ``Timer`` whose ``unreadable`` says what is wrong with it (never a value),
and ``run_due`` holds it (``Changes.hold_timers``) rather than fire it: told
once, by an audit event and a helpdesk notice, and out of every later read.
Left out and logged instead, 100 such rows due first filled every batch of
``limit`` and no other timer ever fired; read again on every cycle, each was
logged again, and never recorded anywhere that lasts.

A hold is a flag on the row (``held``, schema 12), not a status: a held timer
is still its handoff's pending timer of that name, so the workflow cancelling
or restarting it still ends it; releasing it makes it due again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from escalate._exceptions import StaleTimer
from escalate.store._changes import Changes
from escalate.store._protocol import Timer, TimerStatus

__all__ = ["DUE_TIMERS", "due_timers_of", "write_holds"]

#: The due timers, earliest first: ``(now, tenant, tenant, limit)``. Held rows
#: are outside ``timers_due``'s index (its ``WHERE`` is this one's first terms).
DUE_TIMERS = (
    "SELECT id, tenant, handoff_id, name, due_at FROM timers"
    " WHERE status = 'pending' AND held = 0 AND due_at <= ? AND (? IS NULL OR tenant = ?)"
    " ORDER BY due_at, id LIMIT ?"
)


def due_timers_of(rows: Sequence[Sequence[object]], now: datetime) -> list[Timer]:
    """The pending timers that ``(id, tenant, handoff_id, name, due_at)`` rows hold.

    A row whose due time does not read is a timer due ``now`` with ``unreadable`` set.
    """
    timers = []
    for row in rows:
        try:
            due_at = datetime.fromisoformat(str(row[4]))
        except ValueError:  # its message quotes the text: name the problem only
            timers.append(_unreadable(row, now, "due_at: not a time"))
            continue
        if due_at.tzinfo is None:
            timers.append(_unreadable(row, now, "due_at: no time zone"))
            continue
        timers.append(
            Timer(
                id=str(row[0]),
                tenant=str(row[1]),
                handoff_id=str(row[2]),
                name=str(row[3]),
                due_at=due_at,
                status=TimerStatus.PENDING,
            )
        )
    return timers


def _unreadable(row: Sequence[object], now: datetime, detail: str) -> Timer:
    return Timer(
        id=str(row[0]),
        tenant=str(row[1]),
        handoff_id=str(row[2]),
        name=str(row[3]),
        due_at=now,
        unreadable=detail,
    )


def write_holds(conn: sqlite3.Connection, changes: Changes) -> None:
    """Hold and release timers; one not as the change expects refuses it all (``StaleTimer``)."""
    for timer_id in changes.hold_timers:
        cursor = conn.execute(
            "UPDATE timers SET held = 1 WHERE id = ? AND status = 'pending' AND held = 0",
            (timer_id,),
        )
        if cursor.rowcount != 1:
            raise StaleTimer(timer_id)  # held once already: its event and notice are written
    for handoff_id, timer_id in changes.release_timers:
        cursor = conn.execute(
            "UPDATE timers SET held = 0"
            " WHERE id = ? AND handoff_id = ? AND status = 'pending' AND held = 1",
            (timer_id, handoff_id),
        )
        if cursor.rowcount != 1:
            raise StaleTimer(timer_id)
