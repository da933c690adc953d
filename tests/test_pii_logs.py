"""One person's phone, email, name, handle and words, driven through every flow: never logged.

The harness (``tests/pii.py``) catches every record on the root logger at DEBUG
(escalate's own loggers, the provider SDKs', anything) and every warning, and
looks in each record's message, arguments, extra fields and traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    EscalateError,
    Escalator,
    Identity,
    InboundMessage,
    InvalidRecipient,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    Thread,
    UnknownOutcomeError,
    Workflow,
)
from escalate.testing import FakeClock, MemoryTransport, Scenario
from escalate.transports.fallback import FallbackTransport
from escalate.webhooks.sendgrid import SendGridInboundParse, SendGridWebhook
from escalate.webhooks.twilio import TwilioWebhook
from tests.conftest import REPLIES, TEST_START
from tests.pii import (
    BODY,
    EMAIL_RAW,
    HANDLE,
    NAME,
    PHONE_E164,
    PHONE_FORMS,
    Captured,
    capture_pii,
    leaks,
    shown,
)
from tests.webhooks.inbound_mail import form, parsed_fields
from tests.webhooks.inbound_mail import request as inbound_request
from tests.webhooks.signing import PUBLIC_BASE, TWILIO_TOKEN, SendGridKey, twilio_request

PHONE = Identity.phone(PHONE_FORMS[1], region="US")
EMAIL = Identity.email(EMAIL_RAW)
CONSENT = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text or email me about my case.")
KEY = SendGridKey()
#: A From that is no number, though it quotes one (kept off the lines a traceback shows).
NOT_A_NUMBER = "555-0142 x"


def test_the_harness_finds_each_form_of_the_person_wherever_a_record_carries_it() -> None:
    """Message, args, extra fields and a traceback are all searched, in every spelling."""
    log = logging.getLogger("escalate.harness-check")
    with capture_pii() as captured:
        log.debug("to %s", PHONE_FORMS[1])
        log.info("sent", extra={"to": "Jane.Doe+TAG@example.com"})
        log.warning("from %r", HANDLE)
        try:
            raise ValueError(BODY)
        except ValueError:
            log.exception("failed")
        log.error("number 415-555-0142 and 555 0142")
    assert len(captured.leaked()) == 5
    assert leaks("+1********42 j***@example.com <34 chars>") == []


def assert_clean(captured: Captured) -> None:
    assert captured.leaked() == []


def the_thread(clock: FakeClock, thread_id: str = "1001", user_id: str = "42") -> Thread:
    """A public post by the person that quotes their own number, address and words."""
    return Thread(
        platform="x",
        thread_id=thread_id,
        author=Identity.social("x", user_id, HANDLE),
        text=f"{BODY}. I'm {NAME}, {PHONE_FORMS[0]}, {EMAIL_RAW}",
        posted_at=clock.now(),
        url=f"https://x.com/{HANDLE}/status/{thread_id}",
    )


def escalator(clock: FakeClock, *transports: MemoryTransport, **settings: object) -> Escalator:
    return Escalator(
        "memory://",
        transports=list(transports),
        clock=clock,
        workflow=Workflow.default(brand="Acme", reply_to=REPLIES, **settings),  # type: ignore[arg-type]
    )


def provider_text() -> str:
    """What a provider's error says: it quotes the recipient and the message."""
    return f"The 'To' number {PHONE_E164} ({EMAIL_RAW}) refused {BODY!r}"


def test_a_handoff_with_failures_replies_and_keywords_logs_nothing_personal() -> None:
    """Retries, unknown outcomes, crashes, STOP/HELP/START and an agent's message log no PII."""
    clock = FakeClock(TEST_START)
    sms = MemoryTransport([Channel.SMS])
    mail = MemoryTransport([Channel.EMAIL], name="mail")
    with capture_pii() as captured:
        esc = escalator(clock, sms, mail)
        handoff = esc.open(the_thread(clock))
        sms.fail_next(RetryableTransportError(provider_text(), provider="memory", raw=BODY))
        esc.contact_provided(
            handoff.id, Identity.phone(PHONE_FORMS[0], region="US"), consent=CONSENT
        )
        clock.advance(minutes=10)
        esc.run_due()
        for body in (BODY, "HELP", "STOP", "START", f"please stop texting me {BODY}"):
            esc.inbound(
                InboundMessage(
                    channel=Channel.SMS, sender=PHONE, body=body, received_at=clock.now()
                )
            )
            clock.advance(minutes=1)
        esc.run_due()
        second = esc.open(the_thread(clock, thread_id="1002", user_id="43"))
        mail.fail_next(UnknownOutcomeError(provider_text(), provider="mail", raw=EMAIL_RAW))
        esc.contact_provided(second.id, EMAIL, consent=CONSENT)
        for row in esc.outbox.held():
            esc.outbox.release(row.id)
        sms.fail_next(RuntimeError(provider_text()))
        mail.fail_next(RuntimeError(provider_text()))
        esc.send_message(second.id, BODY)
        clock.advance(hours=30)
        esc.run_due()
        clock.advance(hours=30)
        esc.run_due()
        esc.resolve(second.id, reason="done")
        esc.report()
        esc.verify_log()
    assert_clean(captured)


@pytest.mark.parametrize(
    "error",
    [
        InvalidRecipient(provider_text(), provider="memory", code="21614", raw=PHONE_E164),
        RecipientOptedOut(provider_text(), provider="memory", code="21610"),
        PermanentTransportError(provider_text(), provider="memory", code="30003"),
    ],
)
def test_falling_back_to_the_other_channel_logs_nothing_personal(error: Exception) -> None:
    """A permanent SMS failure moves the case to the consented email, and logs no PII."""
    clock = FakeClock(TEST_START)
    both = MemoryTransport([Channel.SMS, Channel.EMAIL])
    with capture_pii() as captured:
        esc = escalator(clock, both)
        earlier = esc.open(the_thread(clock, thread_id="900"))
        esc.contact_provided(earlier.id, EMAIL, consent=CONSENT)
        esc.resolve(earlier.id)
        handoff = esc.open(the_thread(clock))
        both.fail_next(error)
        handoff = esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
        both.fail_next(error)
        esc.send_message(handoff.id, BODY)
        clock.advance(hours=25)
        esc.run_due()
    assert handoff.channel is Channel.EMAIL
    assert_clean(captured)


def test_a_provider_failing_over_to_the_next_logs_nothing_personal() -> None:
    """FallbackTransport says which provider failed, not what its error quoted."""
    clock = FakeClock(TEST_START)
    first, second = MemoryTransport([Channel.SMS], name="one"), MemoryTransport([Channel.SMS])
    with capture_pii() as captured:
        esc = Escalator(
            "memory://",
            transports=[FallbackTransport([first, second])],
            clock=clock,
            workflow=Workflow.default(brand="Acme"),
        )
        first.fail_next(PermanentTransportError(provider_text(), provider="one", code="20003"))
        handoff = esc.open(the_thread(clock))
        esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
    assert [message.to for message in second.sent] == [PHONE]
    assert any("failed permanently" in text for text in captured.texts())
    assert_clean(captured)


def test_the_test_kit_and_double_opt_in_log_nothing_personal() -> None:
    """A Scenario with double opt-in: YES, a reply, STOP, a reminder: no PII logged or warned."""
    with capture_pii() as captured:
        with Scenario(Workflow.default(brand="Acme", double_opt_in=True), strict=False) as case:
            case.post_publicly(f"{BODY} {PHONE_FORMS[2]}", handle=HANDLE)
            case.advance(minutes=5)
            case.customer_provides(phone=PHONE_FORMS[2])
            case.customer_texts("YES")
            case.customer_texts(BODY)
            case.advance(hours=25)
            case.customer_texts("STOP")
            case.advance(hours=50)
        with Scenario(Workflow.default(brand="Acme", reply_to=REPLIES), strict=False) as case:
            case.post_publicly(handle=HANDLE)
            case.customer_provides(email=EMAIL_RAW)
            case.customer_emails(BODY, sender=EMAIL_RAW)
            case.agent_resolves()
    assert_clean(captured)


def test_verified_webhooks_log_nothing_personal() -> None:
    """Inbound SMS and email, keywords, status callbacks and SendGrid events log no PII."""
    clock = FakeClock(TEST_START)
    sms = MemoryTransport([Channel.SMS, Channel.EMAIL])
    twilio = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    events = SendGridWebhook(KEY.public, clock=clock)
    inbound = SendGridInboundParse(KEY.public, clock=clock)
    with capture_pii() as captured:
        esc = escalator(clock, sms)
        earlier = esc.open(the_thread(clock, thread_id="900"))
        esc.contact_provided(earlier.id, EMAIL, consent=CONSENT)
        handoff = esc.open(the_thread(clock))
        esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
        for body in (BODY, "HELP", "STOP", "START"):
            fields = {"From": PHONE_E164, "To": "+15005550006", "Body": body, "MessageSid": body}
            esc.handle_webhook(twilio.parse(*twilio_request(fields)))
        [row, *_] = [
            row for row in esc.store.outbox(esc.tenant) if row.command.kind == "send_message"
        ]
        for status, code in (("sent", ""), ("undelivered", "30003"), ("failed", "21610")):
            params = {"MessageSid": f"SM{status}", "MessageStatus": status, "To": PHONE_E164}
            params |= {"ErrorCode": code, "ErrorMessage": provider_text()} if code else {}
            url = f"{PUBLIC_BASE}/twilio/status?escalate_id={row.id}"
            esc.handle_webhook(twilio.parse(*twilio_request(params, url=url)))
        unknown = {"MessageSid": "SMx", "MessageStatus": "delivered", "To": PHONE_E164}
        esc.handle_webhook(
            twilio.parse(
                *twilio_request(unknown, url=f"{PUBLIC_BASE}/twilio/status?escalate_id=nope")
            )
        )
        stamp = int(clock.now().timestamp())
        sendgrid = [
            {"email": EMAIL_RAW, "timestamp": stamp, "event": name, "sg_event_id": name, **extra}
            for name, extra in (
                ("delivered", {"escalate_id": "nope"}),
                ("bounce", {"type": "bounce", "reason": provider_text(), "status": "5.1.1"}),
                ("unsubscribe", {}),
                ("spamreport", {"escalate_id": "nope"}),
                ("open", {}),
                ("", {}),
            )
        ]
        esc.handle_webhook(events.parse(*KEY.request(sendgrid, clock.now())))
        reply_to = REPLIES.address_for(handoff.id)
        fields = parsed_fields(sender=f"{NAME} <{EMAIL_RAW}>", to=reply_to, text=f"{BODY}\n\nSTOP")
        fields["envelope"] = json.dumps({"to": [reply_to], "from": EMAIL_RAW})
        esc.handle_webhook(inbound.parse(*inbound_request(KEY, form(fields), clock.now())))
        clock.advance(hours=1)
        esc.run_due()
    assert_clean(captured)


def test_refused_webhooks_log_nothing_personal() -> None:
    """A forged, stale or unreadable webhook is refused: the log and the error say so, not more."""
    clock = FakeClock(TEST_START)
    twilio = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    with capture_pii() as captured:
        fields = {"From": PHONE_FORMS[0], "Body": BODY, "MessageSid": "SM1"}
        url, _, body = twilio_request(fields)
        attempts = [
            lambda: twilio.parse(url, {"X-Twilio-Signature": "forged"}, body),
            lambda: twilio.parse(*twilio_request({**fields, "From": EMAIL_RAW})),
            lambda: twilio.parse(*twilio_request({**fields, "From": NOT_A_NUMBER})),
            lambda: SendGridWebhook(KEY.public, clock=clock).parse(
                *KEY.request(
                    [{"email": EMAIL_RAW, "event": BODY}], clock.now() - timedelta(hours=1)
                )
            ),
            lambda: SendGridWebhook(KEY.public, clock=clock).parse(
                *KEY.request(f"[{EMAIL_RAW} {BODY}".encode(), clock.now())
            ),
            lambda: SendGridInboundParse(KEY.public, clock=clock).parse(
                *inbound_request(
                    KEY, form({"from": f"{NAME} <{EMAIL_RAW}", "text": BODY}), clock.now()
                )
            ),
        ]
        errors: list[EscalateError] = []
        for attempt in attempts:
            try:
                attempt()
            except EscalateError as exc:
                errors.append(exc)
        TwilioWebhook(None, insecure=True, clock=clock).parse(*twilio_request(fields))
    assert len(errors) >= 4
    assert [leaks(shown(error)) for error in errors] == [[]] * len(errors)
    assert any("refused" in text for text in captured.texts())
    assert_clean(captured)
