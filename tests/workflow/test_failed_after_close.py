"""An agent's message lost after its case closed: the helpdesk hears, once, and nothing more.

The agent writes the final answer and resolves at once; the text then fails as
the case closes, the carrier reports it undelivered minutes later, or it was
still waiting (quiet hours, a retry) and is cancelled with the case. The case
stays closed and texts no one (no fallback channel either: the agent decides),
and the helpdesk gets one ``notify.undelivered`` per message. A message a
report said was delivered, and a templated one, tell no one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    OutboundMessage,
    RetryableTransportError,
    TransitionNotAllowed,
    Workflow,
)
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import TERMINAL_STATES, ContactAddress, Notify, SendFailed, SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc
from tests.workflow.test_agent_message_fallback import (
    ADDRESSES,
    LANDLINE,
    PHONE,
    TEXT,
    _failed_message,
    agent_rows,
    connected_by_text,
)
from tests.workflow.test_inflight_reports import FastProvider, build, twilio_says

S = HandoffState
DAY = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 10:00 in San Francisco
NIGHT = datetime(2026, 1, 6, 6, 0, tzinfo=UTC)  # 22:00 there: quiet hours
MORNING = datetime(2026, 1, 6, 16, 5, tzinfo=UTC)  # 08:05 there


def assert_told_once(esc: Escalator, handoff_id: str, notes: list[Notify], why: str) -> None:
    """One notice naming the case and the reason, never the text; the case still resolved,
    moved once since its close (by that notice's transition)."""
    after = esc.handoffs.get(handoff_id)
    (note,) = notes
    assert note.topic == "undelivered"
    assert after.reference in note.text
    assert f"({why})" in note.text
    assert TEXT not in note.text
    assert (after.state, after.close_reason) == (S.RESOLVED, "resolved")
    assert after.version == after.closed_version + 1  # type: ignore[operator]
    last = [e for e in esc.history(handoff_id) if e.kind == "handoff.transition"][-1]
    assert (last.data["from"], last.data["to"]) == ("resolved", "resolved")


def notifying(notes: list[Notify]) -> dict[str, object]:
    return {"notifier": lambda _, note: notes.append(note)}


# -- the send fails as the case closes ---------------------------------------------------


def test_a_send_failing_after_the_agent_resolved_tells_the_helpdesk(
    store: Store, clock: FakeClock, notes: list[Notify]
) -> None:
    """The agent resolves while the text is with the provider, which then refuses it (a
    landline): one notice, and neither the intro nor the text goes by email."""
    sms = FastProvider()
    esc = build(store, clock, sms, **notifying(notes))
    handoff = connected_by_text(esc, clock)  # an email with consent is on file
    before = len(sms.sent)
    sms.fail_next(LANDLINE)
    sms.then(lambda _: esc.resolve(handoff.id), to=PHONE)
    esc.send_message(handoff.id, TEXT)
    assert sms.sent[before:] == []
    (row,) = agent_rows(esc, handoff.id)
    assert row.status is OutboxStatus.FAILED
    assert_told_once(esc, handoff.id, notes, "InvalidRecipient")


@pytest.mark.parametrize("delay", ["quiet_hours", "retry", "run_due"])
def test_a_message_cancelled_with_its_case_tells_the_helpdesk(
    store: Store, sms: MemoryTransport, notes: list[Notify], delay: str
) -> None:
    """The text waits (quiet hours, a 429's retry, a scheduler that runs later) and the
    agent resolves meanwhile: it never goes, and the helpdesk hears."""
    clock = FakeClock(DAY)
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=delay != "run_due",
        notifier=lambda _, note: notes.append(note),
    )
    handoff = connected_by_text(esc, clock)
    esc.run_due()
    sms.clear()
    if delay == "quiet_hours":
        clock.set(NIGHT)
    elif delay == "retry":
        sms.fail_next(RetryableTransportError("busy", provider="memory", code="429"))
    esc.send_message(handoff.id, TEXT)
    resolved = esc.resolve(handoff.id)
    clock.set(MORNING)
    tried = len(sms.attempts)
    report = esc.run_due()
    assert (sms.sent, len(sms.attempts)) == ([], tried)  # not even tried
    assert report.cancelled == 1
    assert_told_once(esc, resolved.id, notes, "handoff_closed")


# -- the carrier's report comes after the close ------------------------------------------


def sent_then_resolved(esc: Escalator, clock: FakeClock) -> tuple[Handoff, str]:
    """The agent's final text went (the provider took it), and the agent resolved."""
    handoff = connected_by_text(esc, clock)
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    assert row.status is OutboxStatus.DONE
    return esc.resolve(handoff.id), row.id


def test_a_bounce_reported_after_the_close_tells_the_helpdesk_once(
    store: Store, clock: FakeClock, notes: list[Notify]
) -> None:
    """Twilio's 'undelivered' arrives minutes after the resolve, and again (a webhook retry):
    one notice, nothing sent, the case stays resolved."""
    sms = FastProvider()
    esc = build(store, clock, sms, **notifying(notes))
    resolved, row_id = sent_then_resolved(esc, clock)
    sent = len(sms.sent)
    (message,) = [m for m in sms.sent if m.id == row_id]
    clock.advance(minutes=7)
    bounce = twilio_says(esc, clock, "undelivered", ErrorCode="30006")
    bounce(message)
    bounce(message)
    esc.outbox.reconcile(row_id, "failed", error_code="30006", actor="twilio")
    esc.run_due()
    assert len(sms.sent) == sent
    assert esc.outbox.get(row_id).status is OutboxStatus.FAILED
    assert_told_once(esc, resolved.id, notes, "undelivered")


def test_a_bounce_reported_in_flight_after_the_close_tells_the_helpdesk(
    store: Store, clock: FakeClock, notes: list[Notify]
) -> None:
    """The agent resolves, and Twilio's 'undelivered' comes, while our send call is still
    waiting for its answer: the send's settlement applies it, and the helpdesk hears."""
    sms = FastProvider()
    esc = build(store, clock, sms, **notifying(notes))
    handoff = connected_by_text(esc, clock)
    bounce = twilio_says(esc, clock, "undelivered", ErrorCode="30006")

    def resolve_then_bounce(message: OutboundMessage) -> None:
        esc.resolve(handoff.id)
        bounce(message)

    sms.then(resolve_then_bounce, to=PHONE)
    sent = len(sms.sent)
    esc.send_message(handoff.id, TEXT)
    assert len(sms.sent) == sent + 1  # the text itself, accepted; nothing after it
    (row,) = agent_rows(esc, handoff.id)
    assert row.status is OutboxStatus.FAILED
    assert_told_once(esc, handoff.id, notes, "undelivered")


def test_a_failure_after_a_delivery_tells_no_one(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """'delivered', the resolve, then a contradicting 'failed': the customer had the text."""
    esc = make_esc()
    resolved, row_id = sent_then_resolved(esc, clock)
    esc.outbox.reconcile(row_id, "delivered", actor="twilio")
    sms.clear()
    esc.outbox.reconcile(row_id, "failed", error_code="30006", actor="twilio")
    esc.run_due()
    assert (notes, sms.sent) == ([], [])
    assert esc.handoffs.get(resolved.id).version == resolved.version
    ignored = [e for e in esc.history(resolved.id) if e.kind == "input.ignored"]
    assert [(e.data["input"], e.data["state"]) for e in ignored] == [("send_failed", "resolved")]


def test_a_templated_message_failing_after_the_close_tells_no_one(
    store: Store, clock: FakeClock, notes: list[Notify]
) -> None:
    """The intro is with the provider when the agent resolves, and fails: it was about a
    conversation that is over (the agent who closed it knows)."""
    sms = FastProvider()
    esc = build(store, clock, sms, **notifying(notes))
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    sms.fail_next(LANDLINE)
    sms.then(lambda _: esc.resolve(handoff.id), to=PHONE)
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert notes == []
    assert esc.handoffs.get(handoff.id).state is S.RESOLVED
    (intro,) = [row for row in esc.store.outbox(esc.tenant, handoff_id=handoff.id)
                if isinstance(row.command, SendMessage)]  # fmt: skip
    assert isinstance(intro.command, SendMessage)
    assert (intro.command.template, intro.status) == ("intro.sms", OutboxStatus.FAILED)
    ignored = [e.data["input"] for e in esc.history(handoff.id) if e.kind == "input.ignored"]
    assert ignored == ["send_failed"]


# -- the decision, pure --------------------------------------------------------------------

DEFAULT = Workflow.default(brand="Acme")
NOW = DAY


@given(
    state=st.sampled_from(sorted(TERMINAL_STATES)),
    channel=st.sampled_from([Channel.SMS, Channel.EMAIL]),
    template=st.sampled_from([None, "intro.sms", "reminder.email", "agent.sms", "agent.email"]),
    reason=st.sampled_from(["InvalidRecipient", "undelivered", "handoff_closed"]),
    addresses=st.lists(st.sampled_from(ADDRESSES), max_size=3),
)
def test_a_closed_case_only_tells_the_helpdesk_of_an_agents_lost_message(
    state: HandoffState,
    channel: Channel,
    template: str | None,
    reason: str,
    addresses: list[ContactAddress],
) -> None:
    """In every closed state: an agent's failed message is one notice (the reason, not the
    text), the handoff unchanged but for its version; anything else is not taken."""
    handoff = Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(FakeClock(NOW)),
        state=state,
        version=9,
        opened_at=NOW,
        updated_at=NOW,
        address=PHONE,
        channel=Channel.SMS,
        closed_at=NOW,
        close_reason="closed",
        closed_version=8,
    )
    event = SendFailed(channel=channel, reason=reason, message=_failed_message(template, channel))
    ctx = DEFAULT.context(NOW, addresses)
    if template is None or not template.startswith("agent."):
        with pytest.raises(TransitionNotAllowed):
            DEFAULT.decide(handoff, event, ctx)
        return
    transition = DEFAULT.decide(handoff, event, ctx)
    (note,) = transition.commands
    assert isinstance(note, Notify)
    assert note.topic == "undelivered"
    assert f"({reason})" in note.text
    assert TEXT not in note.text
    before, after = handoff.model_dump(), transition.handoff.model_dump()
    assert {k for k in before if before[k] != after[k]} == {"version"}
