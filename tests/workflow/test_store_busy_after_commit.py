"""A verb whose change committed does not raise for a store failure met while sending.

Found by a review: ``send_message`` committed the agent's message, sent it at
once, then met a write lock held by another process when settling the send, and
raised it. The caller, told to retry, made the change again, and the customer
got the message twice. The verb now returns the handoff as it committed it and
logs the failure; the unsettled row is held when its lease runs out, never sent
again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from escalate import Escalator, Identity, OutboundMessage, SendResult, Workflow
from escalate.store import SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread


class LocksAfterSending(MemoryTransport):
    """Once armed, another connection takes the write lock as each send returns."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="memory")
        self.other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.armed = False

    def send(self, message: OutboundMessage) -> SendResult:
        result = super().send(message)
        if self.armed and not self.other.in_transaction:
            self.other.execute("BEGIN IMMEDIATE")
        return result


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_lock_met_settling_a_verbs_send_is_not_raised_and_nothing_goes_twice(
    tmp_path: Path, clock: FakeClock, concurrency: int, caplog: pytest.LogCaptureFixture
) -> None:
    """send_message returns; the message went once; its row is held, not sent again."""
    path = tmp_path / "e.db"
    SQLiteStore(path).close()
    sms = LocksAfterSending(path)
    esc = Escalator(
        SQLiteStore(path, timeout=0.05),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        concurrency=concurrency,
    )
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, Identity.phone("+14155550142"), consent=WEB_FORM_CONSENT)
    sent_before = len(sms.sent)
    sms.armed = True

    returned = esc.send_message(case.id, "Your refund is on its way")

    assert returned.id == case.id
    assert "not all settled" in caplog.text
    assert len(sms.sent) == sent_before + 1
    sms.other.execute("ROLLBACK")
    sms.armed = False
    clock.advance(minutes=5)  # past the sending worker's lease
    esc.run_due()
    assert len(sms.sent) == sent_before + 1
    assert len(esc.outbox.held()) == 1
    assert esc.verify_log().ok
    sms.other.close()
    esc.close()
