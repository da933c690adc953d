"""The default workflow end to end through the Escalator: acknowledgement, consent, timers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from escalate import (
    BusinessHours,
    Channel,
    ConsentEvidence,
    ConsentSource,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidInput,
    LinkSource,
    PermanentTransportError,
    RetryableTransportError,
    Thread,
    TransitionNotAllowed,
)
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Notify, TimerFired
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

S = HandoffState
PHONE = Identity.phone("+14155550100")


def text(clock: FakeClock, body: str, sender: Identity = PHONE) -> InboundMessage:
    return InboundMessage(channel=Channel.SMS, sender=sender, body=body, received_at=clock.now())


def transitions(esc: object, handoff_id: str) -> list[tuple[str, str, str]]:
    history = esc.history(handoff_id)  # type: ignore[attr-defined]
    return [
        (e.data["from"], e.data["to"], e.data["reason"])
        for e in history
        if e.kind == "handoff.transition"
    ]


def test_off_hours_acknowledgement_says_when_the_team_is_back(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """A Friday-night post on a long weekend is told the team is back Tuesday 09:00 local."""
    clock.set(datetime(2026, 1, 17, 3, 0, tzinfo=UTC))  # Fri 22:00 in New York
    hours = BusinessHours("America/New_York", holidays={date(2026, 1, 19)})  # MLK day
    esc = make_esc(business_hours=hours)
    handoff = esc.open(make_thread(clock))
    reply = publisher.replies[0].text
    assert "back Tuesday 09:00 EST" in reply
    assert handoff.reference in reply


def test_in_hours_acknowledgement_does_not_mention_return(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """During opening hours the public reply is the plain acknowledgement."""
    clock.set(datetime(2026, 1, 20, 15, 0, tzinfo=UTC))  # Tue 10:00 in New York
    esc = make_esc(business_hours=BusinessHours("America/New_York"))
    esc.open(make_thread(clock))
    assert "back" not in publisher.replies[0].text


def test_spanish_locale_renders_spanish_templates(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher, sms: MemoryTransport
) -> None:
    """locale='es' uses the Spanish library for the public reply and the SMS."""
    esc = make_esc(locale="es")
    handoff = esc.open(make_thread(clock))
    assert "Caso " + handoff.reference in publisher.replies[0].text
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert sms.sent[0].body.startswith("Acme: hola")


def test_x_invitation_carries_a_dm_deep_link_with_the_reference(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """On X with the brand's id configured, the reply links to a prefilled DM."""
    handoff = make_esc(x_recipient_id="783214").open(make_thread(clock))
    reply = publisher.replies[0].text
    assert "https://x.com/messages/compose?recipient_id=783214&text=Case%20" in reply
    assert handoff.reference.replace("-", "-") in reply


def test_consent_page_link_wins_when_configured(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """A consent page URL is linked with the reference as ?ref=."""
    handoff = make_esc(contact_url="https://acme.example/contact").open(make_thread(clock))
    assert f"https://acme.example/contact?ref={handoff.reference}" in publisher.replies[0].text


def facebook_comment(clock: FakeClock, thread_id: str, age: timedelta = timedelta(0)) -> Thread:
    """A Facebook comment posted ``age`` ago."""
    return Thread(
        platform="facebook",
        thread_id=thread_id,
        author=Identity.social("facebook", "555"),
        text="bad service",
        posted_at=clock.now() - age,
    )


def test_meta_private_reply_only_within_seven_days(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """A Facebook comment gets one private reply when fresh, none after 7 days."""
    esc = make_esc(meta_private_replies=True)
    fresh = esc.open(facebook_comment(clock, "c1", timedelta(days=1)))
    assert [r.text for r in publisher.private_replies] == [publisher.private_replies[0].text]
    assert fresh.reference in publisher.private_replies[0].text
    esc.open(facebook_comment(clock, "c2", timedelta(days=8)))
    assert len(publisher.private_replies) == 1
    assert "direct message" in publisher.replies[-1].text


def test_a_private_reply_retried_past_the_seven_days_is_not_posted(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """Decided a second inside Meta's window; its retry comes after it: failed, not posted."""
    esc = make_esc(meta_private_replies=True)
    comment = facebook_comment(clock, "c9", timedelta(days=7) - timedelta(seconds=1))
    calls: list[str] = []

    def busy(thread: Thread, text: str) -> object:
        calls.append(text)
        raise RetryableTransportError("503", provider="facebook")

    publisher.private_reply = busy  # type: ignore[method-assign]
    handoff = esc.open(comment)
    assert len(calls) == 1
    clock.advance(hours=1)
    esc.run_due()
    assert len(calls) == 1
    failed = [e for e in esc.history(handoff.id) if e.kind == "public_reply.failed"]
    assert [e.data["reason"] for e in failed] == ["private_reply_window_closed"]


def test_a_comment_escalated_again_gets_no_second_private_reply(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """Meta allows one private reply per comment, ever: not one per handoff."""
    esc = make_esc(meta_private_replies=True)
    comment = facebook_comment(clock, "c1")
    first = esc.open(comment)
    esc.resolve(first.id)
    clock.advance(days=1)
    second = esc.open(comment)
    assert second.id != first.id
    assert len(publisher.private_replies) == 1
    assert first.reference in publisher.private_replies[0].text
    assert "direct message" in publisher.replies[-1].text
    assert second.reference in publisher.replies[-1].text


def test_double_opt_in_sends_only_the_request_until_yes(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """With double opt-in, a phone gets "Reply YES" first; YES records consent and connects."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.AWAITING_CONSENT
    assert [m.body for m in sms.sent] == [
        f"Acme: Reply YES to get updates on case {handoff.reference} by text. "
        "Reply STOP to opt out. Msg & data rates may apply."
    ]
    assert not esc.consent.decide(PHONE, "transactional").allowed
    esc.inbound(text(clock, "hello?"))  # not a YES: nothing more is sent
    assert len(sms.sent) == 1
    handoff = esc.inbound(text(clock, " yes "))
    assert handoff is not None
    assert handoff.state is S.CONNECTED
    decision = esc.consent.decide(PHONE, "transactional")
    assert decision.allowed
    assert decision.records[0].source is ConsentSource.SMS_KEYWORD
    assert len(sms.sent) == 2
    assert handoff.reference in sms.sent[1].body


def test_the_opt_in_request_is_never_sent_twice_to_one_address(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Giving the same number again re-queues the request, which the engine refuses.

    The refusal is no failure of the case (a form submitted twice): it still
    awaits the first request's YES, which connects it.
    """
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(minutes=10)
    again = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1
    refused = [e for e in esc.history(handoff.id) if e.kind == "message.refused"]
    assert [e.data["reason"] for e in refused] == ["opt_in_already_requested"]
    assert again.state is S.AWAITING_CONSENT
    assert esc.handoffs.get(handoff.id).state is S.AWAITING_CONSENT
    connected = esc.inbound(text(clock, "YES"))
    assert connected is not None
    assert connected.state is S.CONNECTED
    assert len(sms.sent) == 2


def test_stop_while_awaiting_consent_declines_and_cancels_timers(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """STOP answers the opt-in request: declined, and no timer fires afterwards."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE)
    handoff = esc.inbound(text(clock, "STOP"))
    assert handoff is not None
    assert handoff.state is S.DECLINED
    clock.advance(days=30)
    assert esc.run_due().timers_fired == 0
    assert len(sms.sent) == 2, "the opt-in request, then the one STOP confirmation"
    assert "unsubscribed" in sms.sent[1].body
    assert notes == []


def test_sla_at_risk_notifies_the_helpdesk_at_75_percent(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify]
) -> None:
    """Nobody connected 45 minutes after the post: the helpdesk hears the SLA is at risk."""
    esc = make_esc()
    esc.open(make_thread(clock))
    clock.advance(minutes=44)
    esc.run_due()
    assert notes == []
    clock.advance(minutes=1)
    esc.run_due()
    assert [n.topic for n in notes] == ["sla_at_risk"]


def test_an_opt_in_request_sent_in_time_meets_the_sla(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify], sms: MemoryTransport
) -> None:
    """With double opt-in the "Reply YES" text is the first private message: it stops the SLA."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    clock.advance(minutes=5)
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1
    clock.advance(minutes=60)
    esc.run_due()
    assert notes == []
    assert esc.handoffs.get(handoff.id).state is S.AWAITING_CONSENT


def test_a_first_sms_held_by_quiet_hours_past_the_sla_tells_the_helpdesk_at_once(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify], sms: MemoryTransport
) -> None:
    """Contact at 21:30 in San Francisco: the intro waits for 08:00, so the SLA is missed."""
    clock.set(datetime(2026, 1, 6, 5, 30, tzinfo=UTC))  # Mon 21:30 PST, in quiet hours
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.run_due()
    assert sms.sent == []
    assert [n.topic for n in notes] == ["sla_at_risk"]
    assert transitions(esc, handoff.id)[-1][2] == (
        "first private message held past the first-response SLA; helpdesk notified"
    )
    clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))  # 08:00 PST: the intro goes
    esc.run_due()
    assert len(sms.sent) == 1
    assert [n.topic for n in notes] == ["sla_at_risk"]


def test_a_held_sms_that_still_leaves_within_the_sla_tells_nobody(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify], sms: MemoryTransport
) -> None:
    """Opened at 07:00 PST with a two-hour SLA: the intro leaves at 08:00, in time."""
    clock.set(datetime(2026, 1, 6, 15, 0, tzinfo=UTC))  # Tue 07:00 PST
    esc = make_esc(sla=timedelta(hours=2))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.run_due()
    assert notes == []
    assert transitions(esc, handoff.id)[-1][2] == "a private message held by quiet hours"
    clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))
    esc.run_due()
    assert len(sms.sent) == 1
    assert notes == []


def test_a_reminder_held_by_quiet_hours_is_not_an_sla_miss(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify], sms: MemoryTransport
) -> None:
    """The SLA is about the first private message; a held reminder only waits."""
    esc = make_esc(reminder_after=timedelta(hours=12))
    handoff = esc.open(make_thread(clock))  # 10:00 PST: the intro goes at once
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1
    clock.advance(hours=12)  # 22:00 PST: the reminder is due in quiet hours
    esc.run_due()
    esc.run_due()
    deferred = [e.data for e in esc.history(handoff.id) if e.kind == "message.deferred"]
    assert len(deferred) == 1
    assert transitions(esc, handoff.id)[-1][2] == "a private message held by quiet hours"
    assert notes == []
    assert len(sms.sent) == 1


def test_sla_timer_is_cancelled_when_the_customer_answers(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify]
) -> None:
    """Contact details within the SLA cancel the at-risk notification."""
    esc = make_esc(sla=timedelta(minutes=30))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=1)
    esc.run_due()
    assert notes == []


def test_one_reminder_then_abandoned_with_a_helpdesk_notice(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """Quiet for 24 h: one reminder; quiet 48 h more: abandoned and the helpdesk is told."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=24)
    esc.run_due()
    assert len(sms.sent) == 2
    assert handoff.reference in sms.sent[1].body
    clock.advance(hours=47)
    esc.run_due()
    assert len(sms.sent) == 2
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED
    clock.advance(hours=1)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    assert [n.topic for n in notes] == ["abandoned"]
    assert ("connected", "abandoned", "no answer from the customer; helpdesk notified") in (
        transitions(esc, handoff.id)
    )


def test_a_reply_cancels_the_reminder(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The customer answered: no reminder goes out; the idle timer closes it much later.

    The helpdesk's notice says the conversation went quiet: "no answer from the
    customer" sent agents looking for a reply that was in the thread.
    """
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=1)
    esc.inbound(text(clock, "my order is 1234"))
    clock.advance(days=6)
    esc.run_due()
    assert len(sms.sent) == 1
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED
    clock.advance(days=1)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).close_reason == "conversation went idle; helpdesk notified"
    (notice,) = [n for n in notes if n.topic == "abandoned"]
    assert "went quiet after the customer's last message" in notice.text
    assert "no answer" not in notice.text


def test_customer_never_gives_contact_is_abandoned(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify]
) -> None:
    """Awaiting contact for contact_timeout: abandoned, SLA notice first."""
    esc = make_esc(contact_timeout=timedelta(hours=12))
    handoff = esc.open(make_thread(clock))
    clock.advance(hours=1)
    esc.run_due()
    clock.advance(hours=11)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    assert [n.topic for n in notes] == ["sla_at_risk", "abandoned"]


def test_sms_commands_report_segments_and_encoding(
    make_esc: MakeEsc, clock: FakeClock, store: object
) -> None:
    """An SMS in the outbox carries its segment count and encoding."""
    esc = make_esc(locale="es")
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    (row,) = [r for r in esc.store.outbox(esc.tenant) if r.command.kind == "send_message"]
    assert (row.command.encoding, row.command.segments) == ("UCS-2", 2)  # type: ignore[union-attr]


def test_email_consent_connects_directly_even_with_double_opt_in(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Double opt-in is for SMS: an email with consent evidence connects at once."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Email me about my case.")
    handoff = esc.contact_provided(handoff.id, Identity.email("jane@example.com"), consent=evidence)
    assert handoff.state is S.CONNECTED
    assert sms.sent[0].subject


def test_opt_in_request_is_refused_for_an_address_that_said_stop(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A number that revoked earlier never gets the opt-in request; the handoff declines."""
    esc = make_esc(double_opt_in=True)
    esc.consent.revoke(PHONE, ConsentEvidence(source=ConsentSource.SMS_KEYWORD))
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE)
    assert sms.sent == []
    assert handoff.state is S.DECLINED


def test_stop_on_a_connected_number_declines_its_handoff_only(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP from the handoff's number declines it; an email handoff of the same person stays."""
    esc = make_esc()
    by_sms = esc.open(make_thread(clock, thread_id="1"))
    esc.contact_provided(by_sms.id, PHONE, consent=WEB_FORM_CONSENT)
    by_email = esc.open(make_thread(clock, thread_id="2"))
    evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Email me.")
    esc.contact_provided(by_email.id, Identity.email("jane@example.com"), consent=evidence)
    declined = esc.inbound(text(clock, "Stop"))
    assert declined is not None
    assert declined.id == by_sms.id
    assert declined.state is S.DECLINED
    assert esc.handoffs.get(by_email.id).state is S.CONNECTED
    clock.advance(days=30)
    esc.run_due()
    assert [m.to for m in sms.sent].count(PHONE) == 2, "the intro, then the STOP confirmation"


def test_private_reply_needs_a_publisher_that_can_send_it(
    store: object, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A publisher without private_reply records the failure instead of posting publicly."""
    from escalate import Escalator, PublishedReply, Thread, Workflow

    class PublicOnly:
        def reply(self, thread: Thread, text: str) -> PublishedReply:
            return PublishedReply(
                platform=thread.platform, thread_id=thread.thread_id, post_id="p1", text=text
            )

    esc = Escalator(
        store,  # type: ignore[arg-type]
        transports=[sms],
        clock=clock,
        publisher=PublicOnly(),
        workflow=Workflow.default(meta_private_replies=True),
    )
    comment = Thread(
        platform="instagram",
        thread_id="c9",
        author=Identity.social("instagram", "77"),
        text="!",
        posted_at=clock.now(),
    )
    handoff = esc.open(comment)
    failures = [e.data for e in esc.history(handoff.id) if e.kind == "public_reply.failed"]
    assert failures
    assert failures[0]["reason"] == "no_private_reply"
    assert handoff.state is S.AWAITING_CONTACT


def test_locale_can_be_chosen_per_handoff(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """A callable locale policy picks Spanish for one thread and English for another."""
    esc = make_esc(locale=lambda handoff: "es" if handoff.thread.thread_id == "es1" else "en")
    esc.open(make_thread(clock, thread_id="es1"))
    esc.open(make_thread(clock, thread_id="en1", user_id="43"))
    assert "Caso " in publisher.replies[0].text
    assert "Case " in publisher.replies[1].text


def test_a_reminder_cancelled_after_it_was_read_as_due_is_not_sent(
    make_esc: MakeEsc, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A reply that cancels the reminder between a worker's read and its fire stops the reminder."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=25)
    (due,) = [t for t in store.due_timers(clock.now(), tenant=esc.tenant) if t.name == "reminder"]
    esc.inbound(text(clock, "still waiting, thanks"))  # after the worker read it as due
    sent = len(sms.sent)
    esc.engine.feed(due.handoff_id, TimerFired(name=due.name), fire_timers=(due.id,))
    esc.run_due()
    assert len(sms.sent) == sent, "no reminder after the customer answered"
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_an_agent_message_goes_through_consent_and_carries_the_reference(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """esc.send_message sends on the private channel, signed, with the case reference."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.send_message(handoff.id, "A replacement ships today; tracking {ABC} follows.")
    (agent,) = sms.sent[1:]
    assert agent.body.startswith("Acme: A replacement ships today; tracking {ABC} follows.")
    assert handoff.reference in agent.body
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert kinds.count("message.sent") == 2


def test_an_agent_message_after_stop_is_refused_not_sent(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """After STOP the handoff is declined: an agent's message is refused as a transition."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.inbound(text(clock, "STOP"))
    sent = len(sms.sent)
    with pytest.raises(TransitionNotAllowed):
        esc.send_message(handoff.id, "one more thing")
    with pytest.raises(InvalidInput):
        esc.send_message(handoff.id, "   ")
    assert len(sms.sent) == sent


def test_an_agent_message_in_quiet_hours_waits_for_the_morning(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An agent writing at night is deferred to 08:00 in the customer's zone, not dropped."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.set(datetime(2026, 1, 6, 7, 0, tzinfo=UTC))  # 23:00 in San Francisco
    esc.send_message(handoff.id, "Update on your order")
    assert len(sms.sent) == 1
    clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))  # 08:00 in San Francisco
    esc.run_due()
    assert len(sms.sent) == 2


@pytest.mark.parametrize("how", ["at send", "by status callback"])
def test_a_failed_help_answer_is_no_failure_of_the_case(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, how: str
) -> None:
    """HELP's answer belongs to the address: its failure leaves the connected case alone."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    if how == "at send":
        sms.fail_next(PermanentTransportError("carrier filtered", provider="memory", code="30007"))
    esc.inbound(text(clock, "HELP"))
    if how == "by status callback":
        rows = esc.store.outbox(esc.tenant)
        answer = [r for r in rows if getattr(r.command, "template", None) == "consent.help"]
        esc.outbox.reconcile(answer[-1].id, "failed", error_code="30007")
    after = esc.handoffs.get(handoff.id)
    assert after.state is S.CONNECTED
    assert after.failed_channels == ()
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert kinds[-1] in ("message.failed", "message.undelivered")


NIGHT = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco: quiet hours


def _sent_at(esc: object, handoff_id: str) -> list[datetime]:
    history = esc.history(handoff_id)  # type: ignore[attr-defined]
    return [e.at for e in history if e.kind == "message.sent"]


def test_the_reminder_counts_from_when_a_held_intro_leaves(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Contact at 22:00 there: intro at 08:00, reminder reminder_after later, not at 08:00 too."""
    clock.set(NIGHT)
    esc = make_esc(reminder_after=timedelta(hours=4))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    for _ in range(2 * 24 * 4):  # two days, a scheduler every 15 minutes
        clock.advance(minutes=15)
        esc.run_due()
    intro, reminder = _sent_at(esc, handoff.id)
    assert intro == datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # 08:00 PDT
    assert reminder - intro == timedelta(hours=4)


def test_a_message_held_again_neither_notifies_again_nor_postpones_for_ever(
    make_esc: MakeEsc, clock: FakeClock, notes: list[Notify]
) -> None:
    """A scheduler that only ever runs at night: one SLA notice, and the case still ends."""
    clock.set(NIGHT)
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    clock.advance(hours=2)
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    for _ in range(20):  # every three days at 00:00 there, in quiet hours
        clock.advance(days=3)
        esc.run_due()
    assert [n.topic for n in notes].count("sla_at_risk") == 1
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED


def test_a_held_fallback_intro_starts_no_reminder_a_reply_had_stopped(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Moving a follow-up never restarts one: the customer who replied gets no reminder."""
    esc = make_esc()
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, PHONE, consent=WEB_FORM_CONSENT)  # a consented phone on file
    esc.resolve(earlier.id)
    email = Identity.email("jane@example.com")
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, email, consent=WEB_FORM_CONSENT)
    reply = InboundMessage(
        channel=Channel.EMAIL, sender=email, body="here are the details", received_at=clock.now()
    )
    esc.inbound(reply)  # cancels the reminder
    clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 there: the SMS intro is held
    esc.send_message(handoff.id, "We shipped a replacement")
    (agent_email,) = [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff.id)
        if getattr(row.command, "template", None) == "agent.email"
    ]
    esc.outbox.reconcile(agent_email.id, "failed")  # it bounced: fall back to SMS
    assert esc.handoffs.get(handoff.id).channel is Channel.SMS
    sms.clear()
    for _ in range(4 * 24):
        clock.advance(hours=1)
        esc.run_due()
    # The intro, then the agent's bounced message carried over; no reminder.
    assert ["reminder" in m.body or "checking in" in m.body for m in sms.sent] == [False, False]
    assert "We shipped a replacement" in sms.sent[1].body
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_one_yes_confirms_every_case_waiting_on_that_number(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Two cases asked the same number; the grant is the number's: both connect."""
    esc = make_esc(double_opt_in=True)
    older = esc.open(make_thread(clock, thread_id="1"))
    esc.contact_provided(older.id, PHONE, consent=WEB_FORM_CONSENT)
    newer = esc.open(make_thread(clock, thread_id="2"))
    esc.contact_provided(newer.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.inbound(text(clock, "YES"))
    states = {h: esc.handoffs.get(h).state for h in (older.id, newer.id)}
    assert states == {older.id: S.CONNECTED, newer.id: S.CONNECTED}
    intros = [m.body for m in sms.sent if "about your post" in m.body]
    assert len(intros) == 2
    assert all(any(h.reference in body for body in intros) for h in (older, newer))


def test_start_answers_a_waiting_opt_in_request_like_yes(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """START connects the case (intro, no "subscribed" text), as YES would."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    connected = esc.inbound(text(clock, "START"))
    assert connected is not None
    assert connected.state is S.CONNECTED
    assert [("subscribed" in m.body, "about your post" in m.body) for m in sms.sent[1:]] == [
        (False, True)
    ]


def test_a_yes_after_the_case_closed_grants_nothing(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The request died with its case: a late YES records no grant and sends nothing."""
    esc = make_esc(double_opt_in=True)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=73)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    sent = len(sms.sent)
    esc.inbound(text(clock, "YES"))
    assert not esc.consent.decide(PHONE, "transactional").allowed
    assert len(sms.sent) == sent


def test_a_yes_reaches_the_case_that_asked_a_number_another_contact_holds(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The number belongs to another contact (a conflict for an agent): its YES still counts."""
    esc = make_esc(double_opt_in=True)
    esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.AWAITING_CONSENT
    matched = esc.inbound(text(clock, "YES"))
    assert matched is not None
    assert matched.id == handoff.id
    assert matched.state is S.CONNECTED
    assert esc.consent.decide(PHONE, "transactional").allowed
