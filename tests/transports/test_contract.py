"""Contract tests: the official SDKs, through our adapters, against Prism mocks of the specs.

Prism checks our requests against Twilio's and SendGrid's own OpenAPI descriptions
and answers a request the real API would reject with 422 (Twilio) or the spec's
canned 400 plus an ``sl-violations`` header (SendGrid); those must surface as
errors. What the specs do not enforce (``To`` is a phone number, From or
MessagingServiceSid, a Body) is asserted on the request the SDK actually sent.
"""

from __future__ import annotations

import base64
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode

import pytest

from escalate import Channel, InvalidInput, PermanentTransportError
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.twilio import TwilioSMS
from tests.conftest import require_server
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER, email, sms
from tests.transports.prism import Prism, missing

pytestmark = pytest.mark.server

TWILIO_SPEC = "twilio_api_v2010.json"
SENDGRID_SPEC = "tsg_mail_v3.json"
E164 = re.compile(r"^(whatsapp:)?\+[1-9]\d{6,14}$")


def _prism(spec: str) -> Iterator[str | None]:
    reason = missing(spec)
    if reason is not None:
        yield None
        return
    prism = Prism(spec).start()
    try:
        yield prism.url
    finally:
        prism.stop()


@pytest.fixture(scope="session")
def twilio_prism_session() -> Iterator[str | None]:
    yield from _prism(TWILIO_SPEC)


@pytest.fixture(scope="session")
def sendgrid_prism_session() -> Iterator[str | None]:
    yield from _prism(SENDGRID_SPEC)


@pytest.fixture
def twilio_prism(twilio_prism_session: str | None) -> str:
    require_server(twilio_prism_session is not None, missing(TWILIO_SPEC) or "")
    assert twilio_prism_session is not None
    return twilio_prism_session


@pytest.fixture
def sendgrid_prism(sendgrid_prism_session: str | None) -> str:
    require_server(sendgrid_prism_session is not None, missing(SENDGRID_SPEC) or "")
    assert sendgrid_prism_session is not None
    return sendgrid_prism_session


def sent_form(transport: TwilioSMS) -> dict[str, str]:
    """The form the twilio SDK posted last (its own test hook on the HTTP client)."""
    request = transport.client.http_client._test_only_last_request
    return {key: str(value) for key, value in request.data.items()}


def assert_real_twilio_would_accept(form: dict[str, str]) -> None:
    """The rules Twilio enforces that its OpenAPI description does not."""
    assert E164.match(form["To"]), "To must be an E.164 number (or whatsapp:+E164)"
    assert ("From" in form) != ("MessagingServiceSid" in form), "From xor MessagingServiceSid"
    assert form.get("Body", "").strip(), "Body (or MediaUrl) is required"
    assert set(form) <= {"To", "From", "MessagingServiceSid", "Body", "StatusCallback"}


@pytest.mark.parametrize(
    "sender",
    [{"from_": FROM_NUMBER}, {"messaging_service_sid": "MG" + "0123456789abcdef" * 2}],
    ids=["from", "messaging-service"],
)
@pytest.mark.parametrize("channel", [Channel.SMS, Channel.WHATSAPP])
def test_twilio_create_is_accepted_by_the_spec(
    twilio_prism: str, sender: dict[str, str], channel: Channel
) -> None:
    """SMS and WhatsApp sends, from a number or a Messaging Service, pass Twilio's spec."""
    transport = TwilioSMS(
        ACCOUNT_SID,
        "token",
        base_url=twilio_prism,
        status_callback="https://hooks.example/twilio/status",
        **sender,  # type: ignore[arg-type]
    )
    result = transport.send(sms().model_copy(update={"channel": channel}))
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("SM")
    form = sent_form(transport)
    assert_real_twilio_would_accept(form)
    assert parse_qs(form["StatusCallback"].partition("?")[2])["escalate_id"] == ["ob_1"]
    transport.close()


@pytest.mark.parametrize(
    ("options", "violation"),
    [({"from_": None, "messaging_service_sid": "MG-not-a-sid"}, "MessagingServiceSid")],
    ids=["bad-messaging-service-sid"],
)
def test_twilio_request_the_api_would_reject_is_an_error(
    twilio_prism: str, options: dict[str, str | None], violation: str
) -> None:
    """Prism's 422 for an off-spec request surfaces as a permanent error with its reasons."""
    settings: dict[str, str | None] = {"from_": FROM_NUMBER}
    settings.update(options)
    transport = TwilioSMS(ACCOUNT_SID, "token", base_url=twilio_prism, **settings)  # type: ignore[arg-type]
    with pytest.raises(PermanentTransportError) as caught:
        transport.send(sms())
    assert caught.value.raw is not None
    assert caught.value.raw["status"] == 422  # type: ignore[index]
    assert violation in caught.value.raw["body"]  # type: ignore[index]


def test_a_status_callback_the_spec_rejects_is_refused_before_any_request(
    twilio_prism: str,
) -> None:
    """Twilio's spec answers 422 to a StatusCallback that is no URL, failing every
    send; so ``TwilioSMS`` refuses one when it is built, with nothing sent."""
    request = urllib.request.Request(
        f"{twilio_prism}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=urlencode(
            {"To": "+14155550100", "From": FROM_NUMBER, "Body": "hi", "StatusCallback": "not a url"}
        ).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(f"{ACCOUNT_SID}:token".encode()).decode(),
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(request, timeout=10)
    assert answered.value.code == 422
    assert "StatusCallback" in answered.value.read().decode()
    with pytest.raises(InvalidInput, match="status_callback"):
        TwilioSMS(
            ACCOUNT_SID,
            "token",
            from_=FROM_NUMBER,
            base_url=twilio_prism,
            status_callback="not a url",
        )


def test_twilio_malformed_account_sid_is_rejected(twilio_prism: str) -> None:
    """An account sid that is not AC + 32 hex is refused by the spec, and so by us."""
    transport = TwilioSMS("ACnope", "token", from_=FROM_NUMBER, base_url=twilio_prism)
    with pytest.raises(PermanentTransportError):
        transport.send(sms())


def test_sendgrid_mail_is_accepted_by_the_spec(sendgrid_prism: str) -> None:
    """A threaded mail with reply-to and custom args passes SendGrid's spec (202)."""
    transport = SendGridEmail(
        "SG.key",
        from_email="help@acme.example",
        from_name="Acme",
        reply_to="support+{reference}@inbound.acme.example",
        host=sendgrid_prism,
    )
    result = transport.send(email(subject="Re: your order"))
    assert result.raw == {"status": 202, "x_message_id": None}


def test_sendgrid_request_the_api_would_reject_is_an_error(sendgrid_prism: str) -> None:
    """Prism's 400 with an sl-violations header surfaces as a permanent error keeping it."""
    transport = SendGridEmail("SG.key", from_email="help@acme.example", host=sendgrid_prism)
    # Refused when configured (EmailSettings); forced here to reach the API's own check.
    object.__setattr__(transport.settings, "from_email", "not-an-address")
    with pytest.raises(PermanentTransportError) as caught:
        transport.send(email())
    raw = caught.value.raw
    assert isinstance(raw, dict)
    violations = {k.lower(): v for k, v in raw["headers"].items()}["sl-violations"]
    assert "from" in violations
