"""Due timers read from SQLite rows, less the rows that no longer read.

A timer row edited outside escalate (a due time written by hand without its
zone, ``2026-01-05 18:00``) raised out of every ``due_timers``, so no timer of
any handoff fired and ``run_due()`` failed on every cycle. Such a row is left
out, logged by its id and its handoff's (never a value), and stays pending:
once it is restored it fires as it would have.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from escalate.store._decoded import problems
from escalate.store._protocol import Timer, TimerStatus

__all__ = ["due_timers_of"]

log = logging.getLogger("escalate")


def due_timers_of(rows: Sequence[Sequence[object]]) -> list[Timer]:
    """The pending timers that ``(id, tenant, handoff_id, name, due_at)`` rows hold."""
    timers = []
    for row in rows:
        try:
            timers.append(
                Timer(
                    id=str(row[0]),
                    tenant=str(row[1]),
                    handoff_id=str(row[2]),
                    name=str(row[3]),
                    due_at=datetime.fromisoformat(str(row[4])),
                    status=TimerStatus.PENDING,
                )
            )
        except ValueError as exc:  # fromisoformat's, a naive time's, or pydantic's
            log.warning(
                "timer %s of handoff %s cannot be read (%s): it was changed outside"
                " escalate; not fired until its row is restored from a backup",
                row[0],
                row[2],
                problems(exc),
            )
    return timers
