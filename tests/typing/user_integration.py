"""A user's integration, written only against escalate's documented public API.

It is not a test module (pytest does not collect it): ``test_user_types.py`` runs
``mypy --strict`` on it with escalate importable the way a user has it installed,
and compares the ``reveal_type`` lines with the types a user should see. It is also
executed, so the calls are real ones, not only well-typed ones.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import reveal_type

from escalate import (
    AuditReport,
    Channel,
    Clock,
    ConsentEvidence,
    ConsentPolicy,
    ConsentSource,
    Contact,
    Decision,
    DispatchReport,
    Escalator,
    Event,
    Handoff,
    HandoffState,
    Identity,
    IdentityKind,
    InboundMessage,
    Notifier,
    OutboundMessage,
    Pacer,
    PublishedReply,
    Purpose,
    SendResult,
    SlaReport,
    SocialPublisher,
    Thread,
    Transport,
    Workflow,
)
from escalate.consent import ConsentAction
from escalate.reporting import format_duration, report_table
from escalate.testing import (
    CapturedEvents,
    FakeClock,
    MemoryTransport,
    RecordingPublisher,
    Scenario,
    capture_events,
)
from escalate.webhooks import Applied, apply_webhook
from escalate.workflow import (
    BusinessHours,
    ContactProvided,
    Context,
    Effects,
    Notify,
    Opened,
    PostPublicReply,
    PublicReplyPosted,
    RecordConsent,
    ReplyReceived,
    ResolveRequested,
    SendMessage,
    StartTimer,
    Step,
    TimerFired,
    effects,
)

START = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


# -- the parts a user writes: a transport, a clock, a publisher, a notifier ----------------


class OfficeClock:
    """A user's clock: anything with ``now() -> datetime`` (docs: the Clock protocol)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class PagerTransport:
    """A user's transport: ``name``, ``channels``, ``send`` and ``close`` (docs/transports.md)."""

    def __init__(self) -> None:
        self.name = "pager"
        self.channels = frozenset({Channel.SMS})
        self.sent: list[OutboundMessage] = []

    def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(provider=self.name, provider_message_id=f"pg-{len(self.sent)}")

    def close(self) -> None:
        self.sent.clear()


@dataclass
class Helpdesk:
    """The helpdesk's side: public replies (a SocialPublisher) and notes (a Notifier)."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        return PublishedReply(
            platform=thread.platform, thread_id=thread.thread_id, post_id="hd-1", text=text
        )

    def notify(self, handoff: Handoff, notify: Notify) -> None:
        with self.lock:
            self.notes.append((handoff.reference, notify.topic))


def build(clock: Clock, transports: list[Transport], helpdesk: Helpdesk) -> Escalator:
    publisher: SocialPublisher = helpdesk
    notifier: Notifier = helpdesk.notify
    return Escalator(
        "memory://",
        transports=transports,
        workflow=Workflow.default(
            brand="Acme",
            contact_url="https://help.acme.example/contact",
            business_hours=BusinessHours("America/New_York"),
            sla=timedelta(minutes=30),
        ),
        publisher=publisher,
        clock=clock,
        tenant="acme",
        notifier=notifier,
        region="US",
        # docs/consent.md: free_text="revoke" or "review", as text or as FreeTextPolicy.
        consent_policy=ConsentPolicy(
            brand="Acme", default_zone="America/New_York", free_text="review"
        ),
        pacer=Pacer({"pager": 1}),
    )


# -- one handoff, end to end -------------------------------------------------------------


def one_handoff() -> None:
    clock = FakeClock(START)
    pager = PagerTransport()
    memory = MemoryTransport([Channel.EMAIL])
    esc = build(clock, [pager, memory], Helpdesk())
    thread = Thread(
        platform="x",
        thread_id="1897001122334455",
        author=Identity.social("x", "2244994945", handle="jane_d"),
        text="@acme my order never arrived",
        posted_at=clock.now(),
    )
    handoff = esc.open(thread)
    reveal_type(handoff)
    reveal_type(handoff.state)
    reveal_type(handoff.reference)
    phone = Identity.phone("(415) 555-0142", region="US")
    reveal_type(phone)
    reveal_type(phone.kind)
    evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me. STOP to opt out.")
    handoff = esc.contact_provided(
        handoff.id, phone, consent=evidence, author=Identity.social("x", "2244994945")
    )
    reveal_type(handoff)
    reply = InboundMessage(
        channel=Channel.SMS, sender=phone, body="thanks", received_at=clock.now(), tenant=esc.tenant
    )
    reveal_type(esc.inbound(reply))
    reveal_type(esc.send_message(handoff.id, "Your replacement ships today."))
    due = esc.run_due()
    reveal_type(due)
    decision = esc.consent.decide(phone, Purpose.TRANSACTIONAL)
    reveal_type(decision)
    reveal_type(decision.allowed)
    reveal_type(esc.consent.decide(phone, "transactional", channel=Channel.SMS))
    # docs/consent.md: grant(..., channel="whatsapp"); decide(..., channel=...) asks the same.
    esc.consent.grant(phone, evidence, channel="whatsapp", handoff_id=handoff.id)
    reveal_type(esc.consent.decide(phone, "transactional", channel="whatsapp"))
    contact = esc.contacts.resolve(phone)
    reveal_type(contact)
    reveal_type(esc.handoffs.get(handoff.id))
    reveal_type(esc.outbox)
    reveal_type(esc.history(handoff.id))
    with capture_events(esc) as events:
        resolved = esc.resolve(handoff.id, reason="replacement shipped")
    reveal_type(events)
    reveal_type(events.kinds)
    reveal_type(resolved.state)
    assert resolved.state is HandoffState.RESOLVED
    report = esc.report()
    reveal_type(report)
    reveal_type(report.handoffs)
    reveal_type(report.private_handoff.median)
    print(format_duration(report.private_handoff.median), report_table(report).row_count)
    reveal_type(esc.verify_log())
    stop = threading.Event()
    stop.set()
    reveal_type(esc.worker(interval=0.01, stop=stop))
    reveal_type(handle_twilio(esc, {"From": "+14155550142", "Body": "ok", "MessageSid": "SM1"}))
    esc.close()


def handle_twilio(esc: Escalator, params: Mapping[str, str]) -> list[Applied]:
    message = InboundMessage(
        channel=Channel.SMS,
        sender=Identity.phone(params["From"]),
        body=params["Body"],
        received_at=esc.clock.now(),
        tenant=esc.tenant,
        provider="twilio",
        provider_message_id=params.get("MessageSid"),
    )
    applied = apply_webhook(esc, message)
    reveal_type(applied)
    return [applied, *esc.handle_webhook([message])]


# -- a custom workflow and its scenario test ------------------------------------------------

S = HandoffState


def acknowledge(handoff: Handoff, event: Opened, ctx: Context) -> Effects:
    return effects(PostPublicReply(text=f"Sorry! DM us a number. Case {handoff.reference}"))


def connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    channel = Channel.SMS if event.identity.kind is IdentityKind.PHONE else Channel.EMAIL
    consent = (
        [
            RecordConsent(
                address=event.identity,
                channel=channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=event.consent,
            )
        ]
        if event.consent
        else []
    )
    intro = f"Acme: about case {handoff.reference}. Reply STOP to opt out."
    return effects(
        *consent,
        SendMessage(channel=channel, to=event.identity, body=intro),
        StartTimer(name="reminder", due_at=ctx.now + timedelta(hours=24)),
        address=event.identity,
        channel=channel,
    )


def remind(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    assert handoff.address is not None
    assert handoff.channel is not None
    body = f"Acme: still need help with case {handoff.reference}? STOP to opt out."
    return effects(SendMessage(channel=handoff.channel, to=handoff.address, body=body))


def reminding_workflow() -> Workflow:
    return Workflow(
        "reminding",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "public acknowledgement queued", acknowledge),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "public reply posted"),
            Step(
                (S.ACKNOWLEDGED, S.AWAITING_CONTACT),
                ContactProvided,
                S.CONNECTED,
                "contact provided",
                connect,
                starts=("reminder",),
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(
                S.CONNECTED,
                TimerFired,
                None,
                "no reply for a day: one reminder",
                remind,
                timer="reminder",
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(S.CONNECTED, ReplyReceived, None, "customer replied", cancels=("reminder",)),
            Step(
                (S.OPENED, S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.CONNECTED),
                ResolveRequested,
                S.RESOLVED,
                "resolved",
            ),
        ],
    )


def scenario_test() -> None:
    with Scenario(reminding_workflow()) as s:
        s.post_publicly("@acme my order never arrived")
        reveal_type(s.advance(minutes=5))
        s.customer_provides(phone="(415) 555-0142", consent=True)
        s.assert_sent(1, channel="sms", containing=s.reference)
        reveal_type(s.customer_texts("STOP"))
        s.assert_sent(1, containing="unsubscribed")
        reveal_type(s.handoff)
        with s.capture_events() as captured:
            s.advance(days=1)
        reveal_type(captured)
        s.assert_nothing_more_sent()


def types_only(
    contact: Contact, event: Event, audit: AuditReport, sla: SlaReport, decision: Decision
) -> tuple[DispatchReport, CapturedEvents, RecordingPublisher] | None:
    """Names a user annotates with; checked, never called."""
    return None


if __name__ == "__main__":
    one_handoff()
    scenario_test()
