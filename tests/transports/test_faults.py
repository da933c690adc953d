"""Every provider failure the stub can produce maps to the right error, and nothing is resent."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from escalate import (
    InvalidRecipient,
    OutboundMessage,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    Transport,
    TransportError,
    UnknownOutcomeError,
)
from escalate.testing import FakeClock
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.twilio import TwilioSMS
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER, email, sms
from tests.transports.stub_server import Fault, StubServer, sendgrid_error, twilio_error

TIMEOUT = 0.4
CLOCK_EPOCH = int(FakeClock().now().timestamp())


def twilio(url: str) -> TwilioSMS:
    return TwilioSMS(
        ACCOUNT_SID, "token", from_=FROM_NUMBER, base_url=url, timeout=TIMEOUT, clock=FakeClock()
    )


def sendgrid(url: str) -> SendGridEmail:
    return SendGridEmail(
        "SG.key", from_email="help@acme.example", host=url, timeout=TIMEOUT, clock=FakeClock()
    )


#: provider, its factory, the message it sends
PROVIDERS: dict[str, tuple[Callable[[str], Transport], Callable[[], OutboundMessage]]] = {
    "twilio": (twilio, sms),
    "sendgrid": (sendgrid, email),
}

#: provider, fault, expected error, expected retry_after
CASES = [
    ("twilio", twilio_error(21211), InvalidRecipient, None),
    ("twilio", twilio_error(21614), InvalidRecipient, None),
    ("twilio", twilio_error(21610), RecipientOptedOut, None),
    ("twilio", twilio_error(21408), PermanentTransportError, None),
    ("twilio", twilio_error(20003, 401), PermanentTransportError, None),
    ("twilio", twilio_error(20429, 429, Retry_After="7"), RetryableTransportError, 7.0),
    ("twilio", twilio_error(20500, 500), UnknownOutcomeError, None),  # may have sent: Twilio 20500
    ("twilio", twilio_error(20503, 503), RetryableTransportError, None),
    ("twilio", Fault(status=504, body={"message": "gateway"}), UnknownOutcomeError, None),
    ("twilio", Fault(hang=True), UnknownOutcomeError, None),
    ("twilio", Fault(drop=True), UnknownOutcomeError, None),
    (
        "sendgrid",
        sendgrid_error(400, "Does not contain a valid address.", "personalizations.0.to.0.email"),
        InvalidRecipient,
        None,
    ),
    ("sendgrid", sendgrid_error(400, "bad subject", "subject"), PermanentTransportError, None),
    ("sendgrid", sendgrid_error(401, "bad key"), PermanentTransportError, None),
    ("sendgrid", sendgrid_error(413, "too large"), PermanentTransportError, None),
    (
        "sendgrid",
        Fault(
            status=429,
            body={"errors": [{"message": "too many"}]},
            headers={"X-RateLimit-Reset": str(CLOCK_EPOCH + 30)},
        ),
        RetryableTransportError,
        30.0,
    ),
    ("sendgrid", sendgrid_error(500), UnknownOutcomeError, None),  # may have queued it
    ("sendgrid", sendgrid_error(503), RetryableTransportError, None),
    ("sendgrid", Fault(hang=True), UnknownOutcomeError, None),
    ("sendgrid", Fault(drop=True), UnknownOutcomeError, None),
]


def _case_id(case: tuple[str, Fault, type[TransportError], float | None]) -> str:
    provider, fault, expected, _ = case
    what = "hang" if fault.hang else "drop" if fault.drop else str(fault.status)
    if isinstance(fault.body, dict) and "code" in fault.body:
        what = str(fault.body["code"])
    return f"{provider}-{what}-{expected.__name__}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_fault_maps_to_one_error_and_one_request(
    stub: StubServer, case: tuple[str, Fault, type[TransportError], float | None]
) -> None:
    """A provider fault raises exactly the mapped error, keeps the payload, and sends once."""
    provider, fault, expected, retry_after = case
    factory, message = PROVIDERS[provider]
    transport = factory(stub.url)
    stub.script(fault)
    with pytest.raises(TransportError) as caught:
        transport.send(message())
    assert type(caught.value) is expected
    assert caught.value.provider == provider
    if fault.body is not None:
        assert caught.value.raw is not None
        assert str(fault.status) in str(caught.value.raw)
    if retry_after is not None:
        assert isinstance(caught.value, RetryableTransportError)
        assert caught.value.retry_after == pytest.approx(retry_after)
    # The SDK made one request: no hidden retry that could deliver a second copy.
    assert len(stub.received) == 1
    transport.close()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_connection_refused_is_retryable_and_sends_nothing(provider: str) -> None:
    """No listener on the port: nothing left the machine, so it is safe to retry."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    factory, message = PROVIDERS[provider]
    with pytest.raises(RetryableTransportError) as caught:
        factory(f"http://127.0.0.1:{port}").send(message())
    assert caught.value.retry_after is None


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_slow_answer_within_the_timeout_is_accepted(stub: StubServer, provider: str) -> None:
    """A provider that is slow but answers in time is a success, not an unknown outcome."""
    factory, message = PROVIDERS[provider]
    stub.latency = TIMEOUT / 2
    try:
        started = time.monotonic()
        result = factory(stub.url).send(message())
    finally:
        stub.latency = 0.0
    assert time.monotonic() - started >= TIMEOUT / 2
    assert result.provider_message_id
    assert result.provider == provider
    assert len(stub.received) == 1


def test_unclassified_status_is_an_unknown_outcome(stub: StubServer) -> None:
    """A status nobody mapped is held as unknown, never retried blindly."""
    stub.script(Fault(status=599, body={"message": "weird"}))
    with pytest.raises(UnknownOutcomeError):
        twilio(stub.url).send(sms())
