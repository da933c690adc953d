"""Provider and channel fallback under random failure scripts: what reaches transports.

Two SMS providers and two email providers, each scripted to fail in every way a
provider can (its own permanent failure, an address failure, a carrier opt-out,
a 429 with Retry-After, an unknown outcome), late delivery reports for any row,
agents writing and time passing. The properties:

- every outbox row is accepted by at most one provider, and no provider is
  called for it again once one accepted it or its outcome was unknown;
- a send moves to the next provider only after a provider's own permanent
  failure, or once the retry policy gave up on a busy one (429, 503), never
  after an address failure, an opt-out or an unknown outcome;
- a retried row is not tried again before its Retry-After;
- a number a carrier reported opted out (21610) gets no more texts from any provider;
- a case gets at most one intro per channel, each private message carries its
  reference (an email has a subject with it), and a closed case stays closed
  with no timer left and one notice to the helpdesk about it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidRecipient,
    LinkSource,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    TransitionNotAllowed,
    UnknownOutcomeError,
    Workflow,
)
from escalate._messages import OutboundMessage, SendResult
from escalate.store import MemoryStore, OutboxStatus
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import TERMINAL_STATES, Notify, SendMessage
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
PROVIDERS = {
    "sms_a": Channel.SMS,
    "sms_b": Channel.SMS,
    "mail_a": Channel.EMAIL,
    "mail_b": Channel.EMAIL,
}


def failures(name: str) -> list[Exception]:
    """What provider ``name`` may answer a send with."""
    return [
        PermanentTransportError("account suspended", provider=name, code="20003"),
        InvalidRecipient("not a mobile number", provider=name, code="21614"),
        RecipientOptedOut("carrier opt-out", provider=name, code="21610"),
        RetryableTransportError("busy", provider=name, code="429", retry_after=90),
        UnknownOutcomeError("read timeout", provider=name),
    ]


@dataclass(frozen=True)
class Call:
    provider: str
    message: OutboundMessage
    at: datetime
    outcome: str  # "accepted" or the exception's class name
    retry_after: float | None = None
    consent: str = ""  # the ledger's decision when the provider was called


class LoggingTransport(MemoryTransport):
    """A ``MemoryTransport`` that logs every call, in order, to a log it shares."""

    def __init__(self, name: str, log: list[Call], clock: FakeClock) -> None:
        super().__init__([PROVIDERS[name]], name=name)
        self._log = log
        self._clock = clock
        self.esc: Escalator | None = None

    def send(self, message: OutboundMessage) -> SendResult:
        assert self.esc is not None
        decision = self.esc.consent.decide(message.to, "transactional")
        consent = "allowed" if decision.allowed else decision.reason
        now = self._clock.now()
        try:
            result = super().send(message)
        except Exception as exc:
            retry_after = getattr(exc, "retry_after", None)
            self._log.append(
                Call(self.name, message, now, type(exc).__name__, retry_after, consent)
            )
            raise
        self._log.append(Call(self.name, message, now, "accepted", consent=consent))
        return result


class ProviderFallback(RuleBasedStateMachine):
    """Random failure scripts through the real Escalator with a provider chain per channel."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.log: list[Call] = []
        self.transports = {name: LoggingTransport(name, self.log, self.clock) for name in PROVIDERS}
        self.notes: list[tuple[str, str]] = []
        self.handoff_ids: list[str] = []
        self.closed: set[str] = set()
        self.esc: Escalator | None = None

    @initialize(double_opt_in=st.booleans(), email_first=st.booleans())
    def setup(self, double_opt_in: bool, email_first: bool) -> None:
        def notifier(handoff: Handoff, notify: Notify) -> None:
            self.notes.append((handoff.id, notify.topic))

        self.esc = Escalator(
            MemoryStore(),
            transports=list(self.transports.values()),
            clock=self.clock,
            publisher=RecordingPublisher(),
            notifier=notifier,
            workflow=Workflow.default(brand="Acme", double_opt_in=double_opt_in),
        )
        for transport in self.transports.values():
            transport.esc = self.esc
        self.first = EMAIL if email_first else PHONE
        self.double_opt_in = double_opt_in

    @property
    def e(self) -> Escalator:
        assert self.esc is not None
        return self.esc

    @precondition(lambda self: len(self.handoff_ids) < 3)
    @rule(both=st.booleans())
    def open_case(self, both: bool) -> None:
        """A new complaint; the customer gives the first address, and often the other too."""
        handoff = self.e.open(make_thread(self.clock, thread_id=f"t{len(self.handoff_ids)}"))
        self.handoff_ids.append(handoff.id)
        assert handoff.contact_id is not None
        if both:
            other = PHONE if self.first is EMAIL else EMAIL
            with contextlib.suppress(Exception):
                self.e.contacts.link(handoff.contact_id, other, LinkSource.AGENT_ENTERED)
            self.e.consent.grant(
                other, EMAIL_CONSENT if other is EMAIL else WEB_FORM_CONSENT, handoff_id=handoff.id
            )
        consent = EMAIL_CONSENT if self.first is EMAIL else WEB_FORM_CONSENT
        with contextlib.suppress(TransitionNotAllowed):
            self.e.contact_provided(handoff.id, self.first, consent=consent)

    @rule(name=st.sampled_from(sorted(PROVIDERS)), which=st.integers(0, 4), times=st.integers(1, 8))
    def script_failure(self, name: str, which: int, times: int) -> None:
        self.transports[name].fail_next(failures(name)[which], times)

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 2))
    def agent_writes(self, index: int) -> None:
        handoff_id = self.handoff_ids[index % len(self.handoff_ids)]
        with contextlib.suppress(TransitionNotAllowed):
            self.e.send_message(handoff_id, f"Note {len(self.log)} from the agent.")

    @rule(minutes=st.sampled_from([1, 2, 30, 8 * 60, 25 * 60]))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.e.run_due()

    @rule(address=st.sampled_from([PHONE, EMAIL]), body=st.sampled_from(["hello", "YES"]))
    def customer_writes(self, address: Identity, body: str) -> None:
        channel = Channel.EMAIL if address is EMAIL else Channel.SMS
        self.e.inbound(
            InboundMessage(channel=channel, sender=address, body=body, received_at=self.clock.now())
        )

    @precondition(lambda self: self.log)
    @rule(index=st.integers(0, 50), status=st.sampled_from(["delivered", "failed", "sent"]))
    def late_report(self, index: int, status: str) -> None:
        """A provider's status callback for any message it was handed, late or not."""
        call = self.log[index % len(self.log)]
        actor = "twilio" if call.message.channel is Channel.SMS else "sendgrid"
        self.e.outbox.reconcile(call.message.id, status, actor=actor)

    # -- properties ---------------------------------------------------------------

    @invariant()
    def each_row_accepted_once_and_never_called_after(self) -> None:
        ended: dict[str, str] = {}
        for call in self.log:
            assert call.message.id not in ended, (
                f"{call.provider} called for a row already {ended.get(call.message.id)}"
            )
            if call.outcome in ("accepted", "UnknownOutcomeError"):
                ended[call.message.id] = call.outcome

    @invariant()
    def next_provider_only_after_a_providers_own_failure(self) -> None:
        for before, after in zip(self.log, self.log[1:], strict=False):
            if after.message.id != before.message.id or after.at != before.at:
                continue
            if after.provider != before.provider:
                # The same send moving down the chain, or the policy gave up on a busy one.
                assert PROVIDERS[before.provider] is PROVIDERS[after.provider]
                if before.outcome == "RetryableTransportError":
                    assert before.message.handoff_id is not None
                    assert any(
                        e.data.get("provider_given_up") == before.provider
                        and e.data.get("outbox_id") == before.message.id
                        for e in self.e.history(before.message.handoff_id)
                    ), (before, after)
                else:
                    assert before.outcome == "PermanentTransportError", (before, after)

    @invariant()
    def retry_after_is_honoured(self) -> None:
        # Per provider: a busy one's Retry-After says nothing of the next one.
        last: dict[tuple[str, str], Call] = {}
        for call in self.log:
            previous = last.get((call.message.id, call.provider))
            if previous is not None and previous.retry_after is not None:
                assert call.at - previous.at >= timedelta(seconds=previous.retry_after)
            last[call.message.id, call.provider] = call

    @invariant()
    def no_text_after_a_carrier_opt_out(self) -> None:
        # Per case: a later case's form grants anew (the carrier would refuse it again).
        opted_out: set[str | None] = set()
        for call in self.log:
            if call.message.channel is Channel.SMS:
                case = call.message.handoff_id
                assert case not in opted_out, "a text went to a number the carrier opted out"
                if call.outcome == "RecipientOptedOut":
                    opted_out.add(case)

    @invariant()
    def only_consented_addresses_get_the_cases_messages(self) -> None:
        for call in self.log:
            row = self.e.outbox.get(call.message.id)
            assert isinstance(row.command, SendMessage)
            template = row.command.template or ""
            if call.outcome != "accepted" or template.startswith(("consent.", "opt_in.")):
                continue
            assert call.consent == "allowed", (template, call.consent)
            if self.double_opt_in and call.message.channel is Channel.SMS:
                # The customer's YES (customer_writes) is the only way a number is confirmed.
                assert any(
                    r.source.value == "sms_keyword" for r in self.e.consent.records(PHONE)
                ), f"{template} texted before any YES"

    @invariant()
    def one_intro_per_channel_each_with_its_reference(self) -> None:
        seen: set[tuple[str | None, Channel]] = set()
        for call in self.log:
            if call.outcome != "accepted":
                continue
            message = call.message
            assert message.reference is not None
            assert message.reference in message.body
            if message.channel is Channel.EMAIL:
                assert message.subject is not None
                assert message.reference in message.subject
            row = self.e.outbox.get(message.id)
            assert isinstance(row.command, SendMessage)
            if (row.command.template or "").startswith("intro."):
                key = (message.handoff_id, message.channel)
                assert key not in seen, f"a second intro on {message.channel.value}"
                seen.add(key)

    @invariant()
    def a_closed_case_stays_closed_with_one_notice(self) -> None:
        for handoff_id in self.handoff_ids:
            handoff = self.e.handoffs.get(handoff_id)
            if handoff_id in self.closed:
                assert handoff.state in TERMINAL_STATES, "a closed case reopened"
            if handoff.state not in TERMINAL_STATES:
                continue
            self.closed.add(handoff_id)
            pending = [
                t
                for t in self.e.store.due_timers(
                    self.clock.now() + timedelta(days=400), tenant="default", limit=1000
                )
                if t.handoff_id == handoff_id
            ]
            assert pending == [], "a closed case kept a timer"
            if handoff.state in (HandoffState.FAILED, HandoffState.DECLINED):
                closing = [
                    e
                    for e in self.e.history(handoff_id)
                    if e.kind == "handoff.transition"
                    and e.data["to"] == handoff.state.value
                    and e.data["from"] != e.data["to"]
                ]
                assert len(closing) == 1
                assert closing[0].data["reason"]
                topics = [t for h, t in self.notes if h == handoff_id]
                assert topics.count("failed") + topics.count("undelivered") >= 1
                assert topics.count("failed") <= 1

    @invariant()
    def nothing_unsettled_for_long(self) -> None:
        for row in self.e.store.outbox("default"):
            assert row.status is not OutboxStatus.CLAIMED

    def teardown(self) -> None:
        if self.esc is not None:
            self.esc.close()


TestProviderFallback = ProviderFallback.TestCase
TestProviderFallback.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
