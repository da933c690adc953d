"""An agent's message carried to another channel reaches the customer once, after the intro.

The edges of the fallback in ``test_agent_message_fallback.py``: delivery
reports that contradict each other or arrive out of order, a late report about
an attempt an operator's release replaced, an intro that must be retried, and a
case the carrier declines while the agent's message waits behind the failure.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from escalate import (
    Escalator,
    Handoff,
    HandoffState,
    OutboundMessage,
    RetryableTransportError,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import Changes, OutboxItem, OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc
from tests.workflow.test_agent_message_fallback import (
    CARRIER_STOP,
    EMAIL,
    LANDLINE,
    PHONE,
    TEXT,
    agent_rows,
    connected_by_text,
)
from tests.workflow.test_inflight_reports import FastProvider, build, twilio_says

S = HandoffState


def carried(sms: MemoryTransport) -> list[OutboundMessage]:
    """The copies of the agent's text that went by email."""
    return [m for m in sms.sent if m.to == EMAIL and m.body.startswith(TEXT)]


# -- 1. a message reported delivered is never sent again -------------------------------


@pytest.mark.parametrize(
    "reports",
    [("delivered", "undelivered"), ("undelivered", "delivered")],
    ids=["delivered-then-failed", "failed-then-delivered"],
)
def test_a_message_reported_delivered_in_flight_is_not_carried(
    store: Store, clock: FakeClock, reports: tuple[str, str]
) -> None:
    """Carriers report delivered and then failed, or the webhooks arrive the other way
    round, both before our send call returns: the text reached the phone, so it does
    not go again. (A failure after a delivery is a duplicate to the webhook; a failure
    that came first fails the row, and the case falls back with the intro alone.)"""
    sms = FastProvider()
    esc = build(store, clock, sms)
    handoff = connected_by_text(esc, clock)
    first, then = (twilio_says(esc, clock, status, ErrorCode="30003") for status in reports)
    sms.then(lambda message: (first(message), then(message)), to=PHONE)
    before = len(sms.sent)
    esc.send_message(handoff.id, TEXT)
    assert carried(sms) == []
    fell_back = reports[0] == "undelivered"
    assert [m.to for m in sms.sent[before:]] == [PHONE, EMAIL] if fell_back else [PHONE]
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_a_report_through_reconcile_in_flight_remembers_the_delivery(
    store: Store, clock: FakeClock
) -> None:
    """esc.outbox.reconcile: 'delivered' then 'failed' while in flight; the failure wins
    the row, and the delivery keeps the text from going twice."""
    sms = FastProvider()
    esc = build(store, clock, sms)
    handoff = connected_by_text(esc, clock)

    def both(message: OutboundMessage) -> None:
        esc.outbox.reconcile(message.id, "delivered", actor="twilio")
        esc.outbox.reconcile(message.id, "failed", error_code="30003", actor="twilio")

    sms.then(both, to=PHONE)
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    assert row.status is OutboxStatus.FAILED
    assert row.result is not None
    assert row.result["was_delivered"] is True
    assert carried(sms) == []


def test_a_progress_report_out_of_order_does_not_unsay_a_delivery(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """'delivered', then a late 'sent', then 'failed': the delivery still counts."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    esc.outbox.reconcile(row.id, "delivered", actor="twilio")
    esc.outbox.reconcile(row.id, "sent", actor="twilio")
    assert esc.outbox.get(row.id).result["delivery_status"] == "delivered"  # type: ignore[index]
    sms.clear()
    esc.outbox.reconcile(row.id, "failed", error_code="30006", actor="twilio")
    assert carried(sms) == []
    failed = esc.outbox.get(row.id)
    assert failed.result is not None
    assert (failed.result["delivery_status"], failed.result["was_delivered"]) == ("failed", True)


# -- 2. a report about the attempt a release replaced ----------------------------------


def released_and_sent(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> tuple[Handoff, str]:
    """The agent's text timed out (held), an operator released it, the second attempt went."""
    handoff = connected_by_text(esc, clock)
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="twilio"))
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    assert row.status is OutboxStatus.HELD
    esc.outbox.release(row.id)
    esc.run_due()
    return handoff, row.id


def test_a_late_failure_of_the_released_attempt_leaves_the_second_one_alone(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The first attempt's failure, named by its provider id, comes after the second was sent."""
    esc = make_esc()
    handoff, row_id = released_and_sent(esc, clock, sms)
    row = esc.outbox.get(row_id)
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    second = row.result["provider_message_id"]
    sms.clear()
    esc.outbox.reconcile(row_id, "failed", provider_message_id="SM-first", actor="twilio")
    assert esc.outbox.get(row_id).status is OutboxStatus.DONE
    assert sms.sent == []
    assert esc.handoffs.get(handoff.id).channel == handoff.channel
    status = [e for e in esc.history(handoff.id) if e.kind == "message.status"][-1]
    assert status.data["other_attempt"] is True
    # The second attempt's own failure still counts.
    esc.outbox.reconcile(row_id, "failed", provider_message_id=second, actor="twilio")
    assert esc.outbox.get(row_id).status is OutboxStatus.FAILED
    assert len(carried(sms)) == 1


def test_a_report_in_flight_about_the_released_attempt_is_not_applied(
    store: Store, clock: FakeClock
) -> None:
    """The first attempt's failure comes in while the second attempt is in flight."""
    sms = FastProvider()
    esc = build(store, clock, sms)
    handoff = connected_by_text(esc, clock)
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="twilio"))
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    esc.outbox.release(row.id)
    # Twilio's callback names its message SM77: not the second attempt's id.
    sms.then(twilio_says(esc, clock, "undelivered", ErrorCode="30003"), to=PHONE)
    before = len(sms.sent)
    esc.run_due()
    assert esc.outbox.get(row.id).status is OutboxStatus.DONE
    assert [m.to for m in sms.sent[before:]] == [PHONE]
    assert carried(sms) == []


# -- 3. the carried message follows the intro ------------------------------------------


def test_the_carried_message_waits_for_an_intro_being_retried(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The email intro meets a 429: the agent's message waits for it, then follows it."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    sms.clear()
    sms.fail_next(LANDLINE)
    sms.fail_next(RetryableTransportError("busy", provider="memory", code="429"))
    esc.send_message(handoff.id, TEXT)
    assert sms.sent == []  # neither the intro, nor the message before it
    for _ in range(5):
        clock.advance(minutes=1)
        esc.run_due()
    intro, message = sms.sent
    assert intro.body.startswith("Hi,")
    assert message.body.startswith(TEXT)
    assert message.headers["In-Reply-To"] == intro.headers["Message-ID"]


def test_an_agents_messages_leave_after_the_intro_they_waited_for_in_the_night(
    store: Store, sms: MemoryTransport
) -> None:
    """Written at night behind the held intro, two texts; a third in the morning, before
    any run_due(): the agent's own call sends the intro, then the three, in order."""
    clock = FakeClock(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 in San Francisco
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = connected_by_text(esc, clock, email=False)
    sms.clear()
    for text in ("One.", "Two."):
        esc.send_message(handoff.id, text)
    assert sms.sent == []  # quiet hours: the intro waits, and the texts behind it
    clock.set(datetime(2026, 1, 6, 16, 5, tzinfo=UTC))  # 08:05 there
    esc.send_message(handoff.id, "Three.")
    bodies = [message.body for message in sms.sent]
    assert bodies[0].startswith("Acme: hi, this is about your post")
    assert [body.split(" (case")[0] for body in bodies[1:]] == [
        "Acme: One.",
        "Acme: Two.",
        "Acme: Three.",
    ]


def test_a_pooled_run_sends_what_waited_for_a_send_settled_behind_the_pool(
    store: Store, clock: FakeClock, sms: MemoryTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a pool an accepted send is committed by the settler, perhaps after the run's
    last claim: the text waiting for it still goes in the same run_due()."""
    commit = store.commit

    def slow_behind(changes: Changes) -> list[OutboxItem]:
        if threading.current_thread().name == "escalate-settler":
            time.sleep(0.1)  # after the workers finished and claimed again
        return commit(changes)

    monkeypatch.setattr(store, "commit", slow_behind)
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        concurrency=4,
        dispatch_immediately=False,
        workflow=Workflow.default(brand="Acme"),
    )
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.run_due()  # the public reply, the intro
    for text in ("One.", "Two."):
        esc.send_message(handoff.id, text)
    sms.clear()
    report = esc.run_due()
    assert [m.body.split(" (case")[0] for m in sms.sent] == ["Acme: One.", "Acme: Two."]
    assert report.sent == 2
    esc.close()


# -- 4. a case declined under a queued agent's message ---------------------------------


def test_a_case_declined_under_a_queued_agents_message_tells_the_helpdesk(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The intro meets the carrier's opt-out (21610) in the morning: the agent's message
    queued behind it never goes, and the helpdesk hears the case is closed, and that the
    message did not go."""
    clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 in San Francisco
    esc = make_esc()
    handoff = connected_by_text(esc, clock, email=False)
    esc.send_message(handoff.id, TEXT)  # held until the morning, behind the intro
    sms.fail_next(CARRIER_STOP)
    clock.set(datetime(2026, 1, 6, 16, 5, tzinfo=UTC))
    esc.run_due()
    handoff = esc.handoffs.get(handoff.id)
    assert handoff.state is S.DECLINED
    assert sms.sent == []
    (row,) = agent_rows(esc, handoff.id)
    assert row.status in (OutboxStatus.CANCELLED, OutboxStatus.REFUSED)  # closed, or opted out
    assert [note.topic for note in notes] == ["sla_at_risk", "failed", "undelivered"]
    assert handoff.reference in notes[1].text
    assert "(RecipientOptedOut)" in notes[1].text
    assert TEXT not in notes[1].text
    assert TEXT not in notes[2].text
