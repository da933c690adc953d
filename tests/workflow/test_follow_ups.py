"""Follow-ups against the clock: held reminders, replies that answer them, jumps in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalate import Channel, HandoffState, Identity, InboundMessage
from escalate.store import OutboxStatus
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify, SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

S = HandoffState
PHONE = Identity.phone("+14155550100")  # Los Angeles


def _reply(clock: FakeClock, body: str = "yes, still waiting on that order") -> InboundMessage:
    return InboundMessage(channel=Channel.SMS, sender=PHONE, body=body, received_at=clock.now())


def _templates(esc: object, handoff_id: str) -> dict[str, OutboxStatus]:
    rows = esc.store.outbox(esc.tenant, handoff_id=handoff_id)  # type: ignore[attr-defined]
    return {
        str(row.command.template): row.status
        for row in rows
        if isinstance(row.command, SendMessage)
    }


def test_a_reminder_held_overnight_is_withdrawn_when_the_customer_replies_first(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The reminder due at 22:00 waits for 08:00; a reply at 07:00 answers it, so it never goes."""
    esc = make_esc(reminder_after=timedelta(hours=12))
    handoff = esc.open(make_thread(clock))  # Monday 10:00 PST
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=12)  # 22:00 PST: the reminder is held until 08:00
    esc.run_due()
    assert _templates(esc, handoff.id)["reminder.sms"] is OutboxStatus.PENDING
    clock.set(datetime(2026, 1, 6, 15, 0, tzinfo=UTC))  # Tuesday 07:00 PST
    esc.inbound(_reply(clock))
    for _ in range(8):  # a scheduler every 15 minutes through 09:00
        clock.advance(minutes=15)
        esc.run_due()
    assert [m.body for m in sms.sent if "checking in" in m.body] == []
    assert _templates(esc, handoff.id)["reminder.sms"] is OutboxStatus.CANCELLED
    cancelled = [e.data for e in esc.history(handoff.id) if e.kind == "message.cancelled"]
    assert [c["reason"] for c in cancelled] == ["customer_replied"]
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_a_held_agent_message_still_goes_after_the_customer_replies(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Only a follow-up is answered by a reply: an agent's words held overnight still go."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 PST
    esc.send_message(handoff.id, "We found your parcel")
    clock.set(datetime(2026, 1, 6, 15, 0, tzinfo=UTC))  # 07:00 PST
    esc.inbound(_reply(clock))
    clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))  # 08:00 PST
    esc.run_due()
    assert [m.body.count("We found your parcel") for m in sms.sent[1:]] == [1]


def test_an_intro_held_after_a_late_yes_is_no_sla_miss(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The opt-in request met the SLA: an intro held from a YES at 21:01 to 08:00 misses none."""
    clock.set(datetime(2026, 1, 6, 4, 55, tzinfo=UTC))  # 20:55 PST
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    clock.advance(minutes=2)
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1  # the request, two minutes after opening
    clock.advance(minutes=4)  # 21:01 PST: quiet hours
    esc.inbound(_reply(clock, "YES"))
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED
    assert [n.topic for n in notes] == []
    clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))  # 08:00 PST
    esc.run_due()
    assert len(sms.sent) == 2


def test_an_opt_in_request_held_past_the_sla_still_tells_the_helpdesk(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify]
) -> None:
    """With double opt-in the request is the first private message: held past the SLA, it tells."""
    clock.set(datetime(2026, 1, 6, 5, 30, tzinfo=UTC))  # 21:30 PST
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert [n.topic for n in notes] == ["sla_at_risk"]
