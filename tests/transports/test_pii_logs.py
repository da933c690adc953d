"""The provider adapters, their SDKs and their errors log and raise nothing personal.

Each adapter sends one person's message to a stub that fails in the provider's
own ways, with error texts that quote the recipient and the body; the root
logger listens at DEBUG (the SDKs' request dumps included).
"""

from __future__ import annotations

import pytest

from escalate import Channel, Identity, OutboundMessage, Transport, TransportError
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.smtp import SMTPEmail
from escalate.transports.twilio import TwilioSMS
from tests.pii import BODY, EMAIL_RAW, NAME, PHONE_E164, capture_pii, leaks, shown
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER
from tests.transports.smtp_stub import SMTPStub
from tests.transports.stub_server import Fault, StubServer

QUOTING = f"The 'To' number {PHONE_E164} ({EMAIL_RAW}, {NAME}) cannot take {BODY!r}"


def message(channel: Channel, to: Identity) -> OutboundMessage:
    return OutboundMessage(
        id="ob_1",
        idempotency_key="key-1",
        channel=channel,
        to=to,
        body=f"Hi {NAME}, about case K7QP-3M: {BODY}",
        reference="K7QP-3M",
        handoff_id="ho_1",
    )


def failure(transport: Transport, to: Identity) -> str | None:
    """What logging the send's ``TransportError`` would show, or None when it was accepted."""
    channel = Channel.SMS if to.kind.value == "phone" else Channel.EMAIL
    try:
        transport.send(message(channel, to))
    except TransportError as exc:
        return shown(exc)
    return None


TWILIO_FAULTS = [
    Fault(status=400, body={"code": 21211, "message": QUOTING, "status": 400}),
    Fault(status=400, body={"code": 21610, "message": QUOTING, "status": 400}),
    Fault(status=429, body={"code": 20429, "message": QUOTING}, headers={"Retry-After": "1"}),
    Fault(status=500, body={"message": QUOTING}),
    Fault(status=400, body=QUOTING),
    Fault(drop=True),
    None,
]


@pytest.mark.parametrize("fault", TWILIO_FAULTS)
def test_twilio_logs_and_raises_nothing_personal(stub: StubServer, fault: Fault | None) -> None:
    """Twilio's SDK request logging and every error it answers keep the person out."""
    transport = TwilioSMS(ACCOUNT_SID, "token", from_=FROM_NUMBER, base_url=stub.url, timeout=2)
    if fault is not None:
        stub.script(fault)
    with capture_pii() as captured:
        failed = failure(transport, Identity.phone(PHONE_E164))
    assert (failed is None) == (fault is None)
    assert leaks(failed or "") == []
    assert captured.leaked() == []
    assert stub.received[-1].form["To"] == PHONE_E164  # it was sent, to the real number


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=400, body={"errors": [{"message": QUOTING, "field": "personalizations"}]}),
        Fault(status=413, body={"errors": [{"message": QUOTING, "field": None}]}),
        Fault(status=503, body=QUOTING),
        Fault(drop=True),
        None,
    ],
)
def test_sendgrid_logs_and_raises_nothing_personal(stub: StubServer, fault: Fault | None) -> None:
    """SendGrid's client request dumps and every error it answers keep the person out."""
    transport = SendGridEmail("SG.key", from_email="support@acme.example", host=stub.url)
    if fault is not None:
        stub.script(fault)
    with capture_pii() as captured:
        failed = failure(transport, Identity.email(EMAIL_RAW))
    assert (failed is None) == (fault is None)
    assert leaks(failed or "") == []
    assert captured.leaked() == []


@pytest.mark.parametrize(
    ("stage", "answer"),
    [
        ("rcpt", f"550 5.1.1 <{EMAIL_RAW}>: {QUOTING}"),
        ("rcpt", f"450 4.2.0 <{EMAIL_RAW}> greylisted"),
        ("data", f"554 5.7.1 {QUOTING}"),
        ("mail", "drop"),
        ("data", "drop"),
        (None, None),
    ],
)
def test_smtp_logs_and_raises_nothing_personal(stage: str | None, answer: str | None) -> None:
    """A server reply quoting the recipient stays out of the error and the log."""
    with SMTPStub() as server:
        if stage is not None:
            server.faults[stage] = answer
        transport = SMTPEmail(
            "127.0.0.1", server.port, from_email="support@acme.example", starttls=False, timeout=2
        )
        with capture_pii() as captured:
            failed = failure(transport, Identity.email(EMAIL_RAW))
    assert (failed is None) == (stage is None)
    assert leaks(failed or "") == []
    assert captured.leaked() == []
