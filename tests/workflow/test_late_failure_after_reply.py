"""A carrier's late failure report does not move a conversation the customer is having.

The intro goes by SMS; the customer texts back from that number; then the carrier
reports the intro undelivered. The number reaches them: the case stays on it,
instead of moving to email with a fresh intro (or, with no email, closing as
failed while the customer is texting).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    DeliveryStatus,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    LinkSource,
    Workflow,
)
from escalate.store import MemoryStore
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Notify
from tests.conftest import TEST_START, WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")


class Desk:
    """One case on SMS, with an email on file (or not), and the helpdesk's notices."""

    def __init__(self, *, with_email: bool) -> None:
        self.clock = FakeClock(TEST_START)
        self.sms = MemoryTransport([Channel.SMS], name="twilio")
        self.mail = MemoryTransport([Channel.EMAIL], name="sendgrid")
        self.notes: list[Notify] = []
        self.esc = Escalator(
            MemoryStore(),
            transports=[self.sms, self.mail],
            clock=self.clock,
            publisher=RecordingPublisher(),
            notifier=self.notify,
            workflow=Workflow.default(brand="Acme"),
        )
        handoff = self.esc.open(make_thread(self.clock))
        if with_email:
            assert handoff.contact_id is not None
            self.esc.contacts.link(handoff.contact_id, EMAIL, LinkSource.AGENT_ENTERED)
            evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Email me.")
            self.esc.consent.grant(EMAIL, evidence, handoff_id=handoff.id)
        self.id = self.esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT).id
        (self.intro,) = self.sms.sent

    def notify(self, _: Handoff, notify: Notify) -> None:
        self.notes.append(notify)

    def customer_writes(self, sender: Identity, body: str = "hi, still no parcel") -> None:
        self.clock.advance(minutes=3)
        channel = Channel.SMS if sender == PHONE else Channel.EMAIL
        message = InboundMessage(
            channel=channel, sender=sender, body=body, received_at=self.clock.now()
        )
        self.esc.inbound(message)  # None once the case closed: a text to no case

    def intro_undelivered(self, error_code: str = "30003") -> None:
        self.clock.advance(minutes=3)
        self.esc.outbox.reconcile(
            self.intro.id, DeliveryStatus.FAILED, error_code=error_code, actor="twilio"
        )

    @property
    def handoff(self) -> Handoff:
        return self.esc.handoffs.get(self.id)


@pytest.fixture
def desk() -> Iterator[Desk]:
    desk = Desk(with_email=True)
    yield desk
    desk.esc.close()


def test_the_case_stays_on_the_number_the_customer_texts_from(desk: Desk) -> None:
    """No email intro, no channel change, no notice: the late report is recorded only."""
    desk.customer_writes(PHONE)
    desk.intro_undelivered()
    assert desk.handoff.state is S.CONNECTED
    assert desk.handoff.channel is Channel.SMS
    assert desk.mail.sent == []
    assert desk.notes == []
    assert "message.undelivered" in [e.kind for e in desk.esc.history(desk.id)]
    desk.esc.send_message(desk.id, "Your parcel left today.")
    assert desk.sms.sent[-1].body.startswith("Acme: Your parcel left today.")


def test_without_an_email_the_case_is_not_closed_as_failed() -> None:
    """No other channel: the case used to fail, telling the helpdesk no channel works."""
    desk = Desk(with_email=False)
    desk.customer_writes(PHONE)
    desk.intro_undelivered()
    assert desk.handoff.state is S.CONNECTED
    assert desk.notes == []


def test_a_failure_before_any_reply_still_falls_back(desk: Desk) -> None:
    """Nothing proves the number works: the case moves to email, as before."""
    desk.intro_undelivered()
    assert desk.handoff.channel is Channel.EMAIL
    assert len(desk.mail.sent) == 1


def test_an_email_from_the_customer_does_not_vouch_for_the_number(desk: Desk) -> None:
    """They wrote from their email, not the phone: the failed number still fails."""
    desk.customer_writes(EMAIL)
    desk.intro_undelivered()
    assert desk.handoff.channel is Channel.EMAIL


def test_a_carrier_opt_out_after_the_reply_still_declines() -> None:
    """Twilio 21610 (the number opted out at the carrier) is about now: declined."""
    desk = Desk(with_email=False)
    desk.customer_writes(PHONE)
    desk.intro_undelivered(error_code="21610")
    assert desk.handoff.state is S.DECLINED


def test_an_agents_message_queued_after_the_reply_still_falls_back(desk: Desk) -> None:
    """Only what was queued before the reply is old news: a later failure moves the case."""
    desk.customer_writes(PHONE)
    desk.esc.send_message(desk.id, "Can you confirm your order number?")
    agents = desk.sms.sent[-1]
    desk.clock.advance(minutes=3)
    desk.esc.outbox.reconcile(agents.id, DeliveryStatus.FAILED, error_code="30003", actor="twilio")
    assert desk.handoff.channel is Channel.EMAIL
    assert desk.mail.sent[-1].body.startswith("Can you confirm your order number?")


@given(
    order=st.permutations(["phone", "email", "report"]),
    with_email=st.booleans(),
    late=st.integers(min_value=0, max_value=72),
)
def test_the_case_leaves_the_number_only_if_the_report_came_before_a_text_from_it(
    order: list[str], with_email: bool, late: int
) -> None:
    """Whatever the order of a text, an email and the report: moved or closed iff no text first."""
    desk = Desk(with_email=with_email)
    for step in order:
        if step == "report":
            desk.clock.advance(timedelta(hours=late))
            desk.intro_undelivered()
        elif step == "phone":
            desk.customer_writes(PHONE)
        elif with_email:
            desk.customer_writes(EMAIL)
    vouched = order.index("phone") < order.index("report")
    handoff = desk.handoff
    if vouched:
        assert (handoff.state, handoff.channel) == (S.CONNECTED, Channel.SMS)
        assert desk.mail.sent == []
    elif with_email:
        assert (handoff.state, handoff.channel) == (S.CONNECTED, Channel.EMAIL)
    else:
        assert handoff.state is S.FAILED
    desk.esc.close()
