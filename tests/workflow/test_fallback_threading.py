"""Fallback to the contact's other consented channel, and email thread continuity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidInput,
    InvalidRecipient,
    OutboundMessage,
    RecipientOptedOut,
    ReplyAddressing,
)
from escalate.testing import FakeClock, MemoryTransport
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.smtp import SMTPEmail
from tests.conftest import EMAIL_CONSENT, REPLIES, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

S = HandoffState
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")


def repeat_customer_with_email(esc: object, clock: FakeClock) -> None:
    """An earlier handoff of the same author linked and consented an email."""
    earlier = esc.open(make_thread(clock, thread_id="900"))  # type: ignore[attr-defined]
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)  # type: ignore[attr-defined]
    esc.resolve(earlier.id)  # type: ignore[attr-defined]


def intro_and_reminder_by_email(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> tuple[Escalator, Handoff, OutboundMessage, OutboundMessage]:
    """An email handoff with signed reply-to addresses, a day on: its intro and reminder."""
    esc = make_esc(reply_to=REPLIES)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    clock.advance(hours=24)
    esc.run_due()
    intro, reminder = sms.sent
    return esc, handoff, intro, reminder


@pytest.mark.parametrize("error", [InvalidRecipient, RecipientOptedOut])
def test_permanent_sms_failure_falls_back_to_consented_email(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, error: type[Exception]
) -> None:
    """A landline (21614) or carrier opt-out moves the handoff to the contact's email."""
    esc = make_esc()
    repeat_customer_with_email(esc, clock)
    sms.clear()
    handoff = esc.open(make_thread(clock))
    sms.fail_next(error("not a mobile number", provider="memory", code="21614"))  # type: ignore[call-arg]
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.CONNECTED
    assert (handoff.channel, handoff.address) == (Channel.EMAIL, EMAIL)
    assert handoff.failed_channels == (Channel.SMS,)
    assert [m.to for m in sms.sent] == [EMAIL]
    assert handoff.reference in sms.sent[0].body
    reasons = [e.data.get("reason") for e in esc.history(handoff.id)]
    assert "send failed; fell back to another channel" in reasons


def test_a_fallback_inside_run_due_is_sent_by_that_run(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The reminder SMS hits a landline in run_due: the email it falls back to goes in that run."""
    esc = make_esc()
    repeat_customer_with_email(esc, clock)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.clear()
    sms.fail_next(InvalidRecipient("landline", provider="memory", code="21614"))
    clock.advance(hours=24)
    report = esc.run_due()
    assert [m.to for m in sms.sent] == [EMAIL]
    assert (report.failed, report.sent) == (1, 1)
    assert esc.handoffs.get(handoff.id).channel is Channel.EMAIL


def test_after_a_merge_the_fallback_finds_the_survivors_addresses(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The case's contact was merged away; the email the survivor holds is the fallback."""
    esc = make_esc()
    older = esc.open(make_thread(clock, thread_id="900", user_id="99"))
    esc.contact_provided(older.id, EMAIL, consent=EMAIL_CONSENT)  # another contact's email
    handoff = esc.open(make_thread(clock))
    sms.clear()
    sms.fail_next(InvalidRecipient("landline", provider="memory", code="21614"))
    assert older.contact_id is not None
    esc.contacts.merge(older.contact_id, esc.handoffs.get(handoff.id).contact_id, "same")
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.CONNECTED
    assert (handoff.channel, handoff.address) == (Channel.EMAIL, EMAIL)


def test_permanent_failure_without_another_channel_fails(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """No other consented address: the handoff ends failed, with the reason."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    sms.fail_next(InvalidRecipient("invalid", provider="memory", code="21211"))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.FAILED
    assert handoff.close_reason == "send failed; no other consented channel"


def test_revoked_consent_without_another_channel_declines(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A reminder refused because consent was revoked elsewhere declines the handoff."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.consent.revoke(PHONE, ConsentEvidence(source=ConsentSource.API))
    clock.advance(hours=24)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.DECLINED
    assert len(sms.sent) == 1


def test_fallback_skips_an_email_without_consent(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A linked email whose consent was revoked is not a fallback."""
    esc = make_esc()
    repeat_customer_with_email(esc, clock)
    esc.consent.revoke(EMAIL, ConsentEvidence(source=ConsentSource.EMAIL_LINK))
    handoff = esc.open(make_thread(clock))
    sms.fail_next(InvalidRecipient("landline", provider="memory", code="21614"))
    assert esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT).state is S.FAILED


def test_emails_thread_and_carry_a_signed_reply_to(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The intro starts the thread; the reminder answers it; both reply to a signed address."""
    esc, handoff, intro, reminder = intro_and_reminder_by_email(make_esc, clock, sms)
    root = f"<{handoff.id}@acme.example>"
    assert intro.headers["Message-ID"] == root
    assert "In-Reply-To" not in intro.headers
    assert reminder.headers["In-Reply-To"] == root == reminder.headers["References"]
    assert reminder.headers["Message-ID"] not in (root, intro.headers["Message-ID"])
    reply_to = intro.headers["Reply-To"]
    assert reply_to.startswith("support+")
    assert reply_to.endswith("@acme.example")
    assert esc.handoff_for_reply_address(f"Acme <{reply_to}>").id == handoff.id  # type: ignore[union-attr]
    assert handoff.reference in intro.subject  # type: ignore[operator]


def test_the_email_adapters_keep_the_workflows_thread_and_signed_reply_to(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """What SendGrid and SMTP put on the wire: one thread, one Reply-To, in its own field.

    The adapters' own defaults (a ``handoff.``-prefixed root, a ``reply_to``
    template) give way to the workflow's headers, whatever their case.
    """
    _, handoff, intro, reminder = intro_and_reminder_by_email(make_esc, clock, sms)
    signed = intro.headers["Reply-To"]
    defaults = {"from_email": "help@acme.example", "reply_to": "other+{reference}@acme.example"}
    grid = SendGridEmail("SG.key", **defaults)  # type: ignore[arg-type]
    first, second = grid.mail(intro), grid.mail(reminder)
    assert first["reply_to"] == second["reply_to"] == {"email": signed}
    assert first["headers"] == {"Message-ID": f"<{handoff.id}@acme.example>"}
    assert second["headers"]["In-Reply-To"] == first["headers"]["Message-ID"]
    assert second["headers"]["References"] == first["headers"]["Message-ID"]
    smtp = SMTPEmail("127.0.0.1", **defaults)  # type: ignore[arg-type]
    built = smtp.build(intro)
    assert built.get_all("Reply-To") == [signed]
    assert built.get_all("Message-ID") == [f"<{handoff.id}@acme.example>"]
    assert built.get_all("In-Reply-To") is None
    lowercase = intro.model_copy(update={"headers": {"message-id": "<own@x>", "reply-to": signed}})
    assert grid.mail(lowercase)["headers"] == {"message-id": "<own@x>"}
    assert smtp.build(lowercase).get_all("Message-ID") == ["<own@x>"]


def test_inbound_email_to_the_reply_address_routes_to_its_handoff(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """A reply from a forwarding address still reaches the handoff via its signed recipient."""
    esc = make_esc(reply_to=REPLIES)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    message = InboundMessage(
        channel=Channel.EMAIL,
        sender=Identity.email("jane.work@example.org"),
        body="here are the photos",
        received_at=clock.now(),
        recipient=REPLIES.address_for(handoff.id),
    )
    assert esc.inbound(message).id == handoff.id  # type: ignore[union-attr]
    forged = message.model_copy(
        update={"recipient": f"support+{handoff.id}.{'0' * 20}@acme.example"}
    )
    assert esc.inbound(forged) is None


@given(handoff_id=st.from_regex(r"ho_[0-9a-f]{32}", fullmatch=True), flip=st.integers(0, 19))
def test_reply_addresses_round_trip_and_resist_tampering(handoff_id: str, flip: int) -> None:
    """Any handoff id round-trips; changing one MAC character or the id is refused."""
    address = REPLIES.address_for(handoff_id)
    assert REPLIES.resolve(address) == handoff_id
    assert REPLIES.resolve(address.upper()) == handoff_id  # MTAs may change case
    local, _, domain = address.partition("@")
    mac_start = local.rindex(".") + 1
    index = mac_start + flip
    char = "0" if local[index] != "0" else "1"
    assert REPLIES.resolve(f"{local[:index]}{char}{local[index + 1 :]}@{domain}") is None
    other = "ho_" + ("0" if handoff_id[3] != "0" else "1") + handoff_id[4:]
    assert REPLIES.resolve(address.replace(handoff_id, other)) is None
    assert REPLIES.resolve(address.replace("acme.example", "evil.example")) is None


def test_reply_addressing_refuses_bad_configuration() -> None:
    """A short secret or a plus-address as the mailbox is refused."""
    with pytest.raises(InvalidInput):
        ReplyAddressing("support@acme.example", b"short")
    with pytest.raises(InvalidInput):
        ReplyAddressing("support+x@acme.example", b"0123456789abcdef")
    assert "secret" not in repr(REPLIES).replace("secret=<hidden>", "")


def test_late_failure_on_a_previous_channel_is_ignored(make_esc: MakeEsc, clock: FakeClock) -> None:
    """A SendFailed for a channel the handoff no longer uses changes nothing but the log."""
    from escalate.workflow import SendFailed

    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    clock.advance(minutes=1)
    esc.engine.feed(handoff.id, SendFailed(channel=Channel.SMS, reason="InvalidRecipient"))
    after = esc.handoffs.get(handoff.id)
    assert after.state is S.CONNECTED
    assert after.channel is Channel.EMAIL
    assert timedelta(0) < after.updated_at - handoff.updated_at
