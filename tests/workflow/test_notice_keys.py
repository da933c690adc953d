"""A helpdesk notice carries its outbox row's key, so a notifier can drop a repeat.

Notices are delivered at least once: a worker that dies after calling the
notifier, before the row settles, leaves the row to the next worker, which calls
the notifier again (docs/delivery.md, "Concurrency").
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalate import Escalator, Handoff, Workflow
from escalate.testing import FakeClock
from escalate.workflow import Notify
from tests.conftest import make_thread


def test_each_notice_carries_its_row_key(clock: FakeClock) -> None:
    notices: list[Notify] = []
    esc = Escalator(
        "memory://",
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda _, notify: notices.append(notify),
    )
    esc.open(make_thread(clock, thread_id="1"))
    esc.open(make_thread(clock, thread_id="2"))
    clock.advance(minutes=50)  # both first-response SLAs at risk
    esc.run_due()
    keys = [notice.key for notice in notices]
    rows = {row.idempotency_key for row in esc.store.outbox(esc.tenant)}
    assert len(keys) == 2
    assert len(set(keys)) == 2
    assert set(keys) <= rows


def test_a_notice_delivered_again_after_a_crash_has_the_same_key(clock: FakeClock) -> None:
    calls: list[str | None] = []

    def crashing_once(_: Handoff, notify: Notify) -> None:
        calls.append(notify.key)
        if len(calls) == 1:
            raise RuntimeError("the worker died after telling the helpdesk")

    esc = Escalator(
        "memory://",
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=crashing_once,
        dispatch_immediately=False,
    )
    esc.open(make_thread(clock))
    esc.run_due()  # the public reply
    clock.advance(minutes=50)
    with pytest.raises(RuntimeError):
        esc.run_due()
    clock.advance(timedelta(hours=1))  # past the dead worker's lease
    esc.run_due()
    assert len(calls) >= 2
    assert calls[0] is not None
    assert set(calls) == {calls[0]}
