"""esc.outbox: held rows leave only by a status callback or an operator's decision."""

from __future__ import annotations

import pytest

from escalate import (
    DeliveryStatus,
    Escalator,
    HandoffState,
    InvalidInput,
    NotFound,
    UnknownOutcomeError,
)
from escalate.store import OutboxItem, OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from tests.workflow.test_delivery import connect, escalator, kinds


def held_row(esc: Escalator, clock: FakeClock, sms: MemoryTransport) -> OutboxItem:
    sms.fail_next(UnknownOutcomeError("read timeout"))
    connect(esc, clock)
    [held] = esc.outbox.held()
    return held


def test_delivered_callback_settles_a_held_row_once(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A delivered callback marks the held row sent; a duplicate changes nothing."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    row = esc.outbox.reconcile(held.id, "delivered", provider_message_id="SM123")
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert row.result["provider_message_id"] == "SM123"
    handoff = esc.handoffs.get(held.handoff_id)
    events = len(esc.history(handoff.id))
    esc.outbox.reconcile(held.id, DeliveryStatus.DELIVERED)
    assert len(esc.history(handoff.id)) == events
    assert esc.outbox.held() == []
    clock.advance(hours=1)
    esc.run_due()
    assert len(sms.attempts) == 1  # reconciled, never resent
    sent = [e for e in esc.history(handoff.id) if e.kind == "message.sent"]
    assert [e.data.get("reconciled") for e in sent] == [True]


def test_status_progress_on_a_sent_row_is_recorded_and_late_failure_fails_it(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """sent -> delivered is recorded; an undelivered callback fails the row and the handoff."""
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    [row] = [i for i in esc.store.outbox("default") if i.command.kind == "send_message"]
    esc.outbox.reconcile(row.id, "sent")
    esc.outbox.reconcile(row.id, "sent")  # duplicate
    assert kinds(esc, handoff).count("message.status") == 1
    failed = esc.outbox.reconcile(row.id, "failed", error_code="30003")
    assert failed.status is OutboxStatus.FAILED
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED
    esc.outbox.reconcile(row.id, "failed", error_code="30003")  # duplicate: harmless
    assert kinds(esc, handoff).count("message.undelivered") == 1


def test_operator_can_mark_sent_mark_failed_or_release(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """mark_sent settles, release sends again exactly once, mark_failed fails; others refuse."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    released = esc.outbox.release(held.id)
    assert released.status is OutboxStatus.PENDING
    esc.run_due()
    assert len(sms.sent) == 1
    assert esc.outbox.get(held.id).status is OutboxStatus.DONE
    with pytest.raises(InvalidInput):
        esc.outbox.release(held.id)  # only held rows can be released
    with pytest.raises(InvalidInput):
        esc.outbox.mark_sent(held.id)


def test_mark_failed_lets_the_workflow_fall_back(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An operator failing a held row feeds SendFailed to the handoff."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    assert esc.outbox.mark_failed(held.id, reason="not in twilio logs").status is (
        OutboxStatus.FAILED
    )
    assert esc.handoffs.get(held.handoff_id).state is HandoffState.FAILED


def test_mark_sent_by_operator(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """mark_sent moves a held row to done with the provider id the operator found."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    row = esc.outbox.mark_sent(held.id, provider_message_id="SM9")
    assert row.status is OutboxStatus.DONE
    assert row.result == {"provider_message_id": "SM9"}


def test_bad_input_is_refused(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """Unknown rows raise NotFound; unknown statuses raise InvalidInput; nothing changes."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    with pytest.raises(NotFound):
        esc.outbox.reconcile("ob_nope", "delivered")
    with pytest.raises(InvalidInput):
        esc.outbox.reconcile(held.id, "teleported")
    assert esc.outbox.get(held.id).status is OutboxStatus.HELD
