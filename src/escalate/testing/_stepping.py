"""Time for a ``Scenario``: move a ``FakeClock`` the way a scheduler calling ``run_due()`` would.

The clock stops at every timer and deferred send that comes due on the way, in
order, and runs what is due there; so a timer started when another fires is due
relative to that instant, not to the end of the jump. Bounded both ways, so a
workflow whose timers keep restarting fails a test instead of hanging it.
"""

from __future__ import annotations

from datetime import datetime

from escalate._escalator import Escalator
from escalate.store import OutboxStatus
from escalate.testing._clock import FakeClock
from escalate.workflow._engine import DispatchReport

__all__ = ["MAX_ROUNDS", "MAX_STEPS", "run_until", "run_while_due"]

#: More due instants than this in one ``advance`` means a timer keeps restarting itself.
MAX_STEPS = 10_000
#: More rounds of run_due() than this at one instant: a timer restarting at ``ctx.now``.
MAX_ROUNDS = 1_000


def run_until(esc: Escalator, clock: FakeClock, target: datetime) -> DispatchReport:
    """Move ``clock`` to ``target``, stopping at each due instant to run what is due.

    Raises:
        AssertionError: more than ``MAX_STEPS`` due instants on the way.
    """
    report = DispatchReport()
    for _ in range(MAX_STEPS):
        due = _next_due(esc, clock.now(), target)
        if due is None:
            clock.set(target)
            report += run_while_due(esc, clock)
            return report
        clock.set(due)
        report += run_while_due(esc, clock)
    raise AssertionError(
        f"advance() met more than {MAX_STEPS} due instants: does a timer restart itself?"
    )


def run_while_due(esc: Escalator, clock: FakeClock) -> DispatchReport:
    """Run what is due now, until nothing more is (a fired timer may queue a send).

    Raises:
        AssertionError: still busy after ``MAX_ROUNDS`` rounds at one instant.
    """
    report = DispatchReport()
    for _ in range(MAX_ROUNDS):
        step = esc.run_due()
        report += step
        if step.idle:
            return report
    raise AssertionError(
        f"run_due() was still busy after {MAX_ROUNDS} rounds at {clock.now().isoformat()}:"
        " does a timer restart itself at the same instant?"
    )


def _next_due(esc: Escalator, now: datetime, target: datetime) -> datetime | None:
    store, tenant = esc.store, esc.tenant
    instants = [
        timer.due_at
        for timer in store.due_timers(target, limit=MAX_STEPS)
        if timer.tenant == tenant
    ]
    instants += [
        row.due_at
        for row in store.outbox(tenant)
        if row.status is OutboxStatus.PENDING and row.due_at <= target
    ]
    return min((when for when in instants if when > now), default=None)
