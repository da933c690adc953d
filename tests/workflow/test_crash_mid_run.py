"""A worker that dies in the middle of ``run_due()`` leaves in doubt only what it was sending.

Found by a review: ``run_due()`` claimed every due row at once and sent them one
by one, so a process killed after the first send left the rows it had claimed,
and never tried, held as if they might have gone out. Those customers got no
intro, then (the reminder counting a held intro as sent) a "just checking in"
for a message they never had. Rows are now claimed one at a time, right before
they are sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import Channel, Escalator, Identity, OutboundMessage, SendResult, Workflow
from escalate.store import OutboxStatus, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONES = [Identity.phone(f"+1415555013{n}") for n in range(4)]


class ProcessDied(BaseException):
    """Stands in for the process being killed: nothing after it runs."""


class DiesOnSecondSend(MemoryTransport):
    def __init__(self) -> None:
        super().__init__([Channel.SMS], name="memory")
        self.calls = 0

    def send(self, message: OutboundMessage) -> SendResult:
        self.calls += 1
        if self.calls == 2:
            raise ProcessDied
        return super().send(message)


def _desk(path: Path, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )


def _intros(esc: Escalator) -> dict[OutboxStatus, int]:
    counts: dict[OutboxStatus, int] = {}
    for row in esc.store.outbox(esc.tenant):
        if isinstance(row.command, SendMessage):
            counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def test_a_worker_killed_mid_run_holds_only_the_send_it_was_making(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "escalate.db"
    dying = DiesOnSecondSend()
    first = _desk(path, clock, dying)
    for n, phone in enumerate(PHONES):
        case = first.open(make_thread(clock, thread_id=str(n), user_id=str(100 + n)))
        first.contact_provided(case.id, phone, consent=WEB_FORM_CONSENT)
    with pytest.raises(ProcessDied):
        first.run_due()
    assert len(dying.sent) == 1

    clock.advance(minutes=3)  # past the dead worker's lease
    sms = MemoryTransport([Channel.SMS], name="memory")
    second = _desk(path, clock, sms)
    second.run_due()
    # The intro that was being sent may have gone: held, never repeated. The two
    # the dead worker never reached are sent now.
    assert _intros(second) == {OutboxStatus.DONE: 3, OutboxStatus.HELD: 1}
    assert len(sms.sent) == 2
    reached = {m.to for m in (*dying.sent, *sms.sent)}
    assert len(reached) == 3
