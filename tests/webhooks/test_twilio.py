"""TwilioWebhook: X-Twilio-Signature verification (behind proxies too) and parsing tables."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from escalate import (
    Channel,
    DeliveryStatus,
    Escalator,
    Identity,
    InvalidInput,
    InvalidWebhookPayload,
    WebhookSignatureError,
)
from escalate.testing import FakeClock
from escalate.transports.twilio import STATUS_CALLBACK_PARAM
from escalate.webhooks import DeliveryReport, WebhookParser
from escalate.webhooks.twilio import ESCALATE_ID_PARAM, TwilioWebhook
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.webhooks.security import Request, WebhookSecurityContract
from tests.webhooks.signing import PUBLIC_BASE, TWILIO_TOKEN, twilio_request

STOP = {"From": "+14155550100", "To": "+14155550199", "Body": "STOP", "MessageSid": "SM1"}


class TestTwilioSecurity(WebhookSecurityContract):
    """The shared webhook security suite, for Twilio."""

    signature_header = "X-Twilio-Signature"

    def parser(self, secret: str | None = "default", **options: Any) -> WebhookParser:
        return TwilioWebhook(TWILIO_TOKEN if secret == "default" else secret, **options)

    def wrong_secret(self) -> str:
        return "another-token"

    def signed(self) -> Request:
        return twilio_request(STOP)


def test_escalate_id_param_is_the_transports() -> None:
    """The parser reads the very query parameter TwilioSMS appends to StatusCallback."""
    assert ESCALATE_ID_PARAM == STATUS_CALLBACK_PARAM


def test_behind_a_proxy_the_public_base_url_makes_verification_work() -> None:
    """The app sees an internal URL: refused without public_base_url, accepted with it."""
    _, headers, body = twilio_request(STOP, url=f"{PUBLIC_BASE}/twilio/sms?x=1")
    internal = "http://10.0.0.7:8000/twilio/sms?x=1"
    with pytest.raises(WebhookSignatureError):
        TwilioWebhook(TWILIO_TOKEN).parse_inbound(internal, headers, body)
    behind = TwilioWebhook(TWILIO_TOKEN, public_base_url=PUBLIC_BASE + "/")
    assert behind.parse_inbound(internal, headers, body).body == "STOP"
    assert behind.parse_inbound("/twilio/sms?x=1", headers, body).body == "STOP"


def test_public_base_url_with_a_prefix_the_proxy_strips() -> None:
    """A base URL with a path prefix is joined with the path the app saw."""
    url, headers, body = twilio_request(STOP, url="https://example.com/api/twilio/sms")
    parser = TwilioWebhook(TWILIO_TOKEN, public_base_url="https://example.com/api")
    assert parser.public_url("/twilio/sms") == url
    assert parser.parse_inbound("/twilio/sms", headers, body).provider_message_id == "SM1"


def test_a_bare_path_without_public_base_url_is_bad_input() -> None:
    """A path alone cannot be verified without knowing the public origin."""
    _, headers, body = twilio_request(STOP)
    with pytest.raises(InvalidInput, match="public_base_url"):
        TwilioWebhook(TWILIO_TOKEN).parse_inbound("/twilio/sms", headers, body)
    with pytest.raises(InvalidInput):
        TwilioWebhook(TWILIO_TOKEN, public_base_url="hooks.example.com")


@pytest.mark.parametrize(
    ("url", "behind_proxy"),
    [
        ("http://[::1/twilio/sms", True),  # a Host header that is no host
        ("http://hooks.example.com:99999/twilio/sms", False),
        ("http://hooks.example.com:abc/twilio/sms", False),
        ("https://hooks.example.com/twilio/sms?\udcff", True),
    ],
)
def test_a_url_that_is_no_url_is_bad_input_not_a_crash(url: str, behind_proxy: bool) -> None:
    """The URL an app builds from a request (its Host header, say) may be junk: InvalidInput."""
    _, headers, body = twilio_request(STOP)
    parsers = [TwilioWebhook(TWILIO_TOKEN)]
    if behind_proxy:  # with a public base URL the host seen is not used
        parsers.append(TwilioWebhook(TWILIO_TOKEN, public_base_url=PUBLIC_BASE))
    for parser in parsers:
        with pytest.raises(InvalidInput, match="not a valid URL"):
            parser.parse(url, headers, body)


@pytest.mark.parametrize(
    "base", ["https://:80/", "https://", "ftp://hooks.example.com", "https://a b.example"]
)
def test_a_public_base_url_without_a_usable_host_is_refused_when_made(base: str) -> None:
    """Twilio signs the URL it called: a base with no host (or a space) never verifies."""
    with pytest.raises(InvalidInput, match="public_base_url must be an absolute http"):
        TwilioWebhook(TWILIO_TOKEN, public_base_url=base)


def test_json_body_signed_with_body_sha256() -> None:
    """A JSON body is verified through the URL's bodySHA256, and a changed body is refused."""
    body = b'{"MessageStatus": "delivered"}'
    validator = RequestValidator(TWILIO_TOKEN)
    url = f"{PUBLIC_BASE}/twilio/json?bodySHA256={validator.compute_hash(body.decode())}"
    headers = {"X-Twilio-Signature": validator.compute_signature(url, {})}
    parser = TwilioWebhook(TWILIO_TOKEN)
    parser.verify(url, headers, body)
    with pytest.raises(WebhookSignatureError):
        parser.verify(url, headers, body.replace(b"delivered", b"failed"))


def test_hmac_sha256_when_the_settings_header_asks() -> None:
    """X-Twilio-Webhooks-Signature-Settings algorithm=HMAC_SHA256 is honoured."""
    url = f"{PUBLIC_BASE}/twilio/sms"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, STOP, "HMAC_SHA256")
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_SHA256",
    }
    body = twilio_request(STOP)[2]
    assert TwilioWebhook(TWILIO_TOKEN).parse_inbound(url, headers, body).body == "STOP"
    with pytest.raises(WebhookSignatureError):
        TwilioWebhook(TWILIO_TOKEN).parse_inbound(url, {"X-Twilio-Signature": signature}, body)


@pytest.mark.parametrize(
    ("sender", "channel"),
    [("+14155550100", Channel.SMS), ("whatsapp:+14155550100", Channel.WHATSAPP)],
)
def test_inbound_sms_and_whatsapp(sender: str, channel: Channel) -> None:
    """From, To, Body and MessageSid become an InboundMessage; whatsapp: picks the channel."""
    clock = FakeClock()
    params = {**STOP, "From": sender, "Body": "hello there", "NumMedia": "0"}
    message = TwilioWebhook(TWILIO_TOKEN, clock=clock).parse_inbound(*twilio_request(params))
    assert message.channel is channel
    assert message.sender == Identity.phone("+14155550100")
    assert message.recipient == "+14155550199"
    assert (message.body, message.provider, message.provider_message_id) == (
        "hello there",
        "twilio",
        "SM1",
    )
    assert message.received_at == clock.now()
    assert message.raw["NumMedia"] == "0"
    assert "hello" not in repr(message)


@pytest.mark.parametrize("sender", ["", "not a number", "rcs:acme"])
def test_inbound_without_a_usable_sender_is_a_payload_error(sender: str) -> None:
    """An inbound message must name a phone number sender."""
    with pytest.raises(InvalidWebhookPayload):
        TwilioWebhook(TWILIO_TOKEN).parse_inbound(*twilio_request({**STOP, "From": sender}))


@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [
        ("queued", DeliveryStatus.QUEUED),
        ("sent", DeliveryStatus.SENT),
        ("delivered", DeliveryStatus.DELIVERED),
        ("read", DeliveryStatus.DELIVERED),
        ("undelivered", DeliveryStatus.FAILED),
        ("failed", DeliveryStatus.FAILED),
        ("something-new", DeliveryStatus.UNKNOWN),
    ],
)
def test_status_table(twilio_status: str, status: DeliveryStatus) -> None:
    """Each MessageStatus maps through the table; an unknown one is UNKNOWN, kept raw."""
    params = {"MessageSid": "SM9", "MessageStatus": twilio_status, "To": "+14155550100"}
    url = f"{PUBLIC_BASE}/twilio/status?escalate_id=msg_1"
    report = TwilioWebhook(TWILIO_TOKEN).parse_status(*twilio_request(params, url=url))
    assert isinstance(report, DeliveryReport)
    assert (report.status, report.provider_status, report.message_id) == (
        status,
        twilio_status,
        "msg_1",
    )
    assert report.raw["MessageStatus"] == twilio_status
    assert report.address == Identity.phone("+14155550100")


def test_error_code_and_content_key() -> None:
    """ErrorCode is kept; a retry of the same callback has the same key, another status not."""
    url = f"{PUBLIC_BASE}/twilio/status?escalate_id=msg_1"
    params = {"MessageSid": "SM9", "MessageStatus": "undelivered", "ErrorCode": "30007"}
    parser = TwilioWebhook(TWILIO_TOKEN, clock=FakeClock())
    first = parser.parse_status(*twilio_request(params, url=url))
    again = parser.parse_status(*twilio_request(params, url=url))
    other = parser.parse_status(*twilio_request({**params, "MessageStatus": "failed"}, url=url))
    assert first.error_code == "30007"
    assert first.key == again.key != other.key
    assert "+1" not in first.key


def test_parse_tells_inbound_from_status() -> None:
    """One endpoint: a MessageStatus makes a report, its absence (or received) a message."""
    parser = TwilioWebhook(TWILIO_TOKEN)
    assert isinstance(
        parser.parse(*twilio_request(STOP)), type(parser.parse_inbound(*twilio_request(STOP)))
    )
    status = parser.parse(*twilio_request({"MessageSid": "SM1", "MessageStatus": "sent"}))
    assert isinstance(status, DeliveryReport)
    received = parser.parse(*twilio_request({**STOP, "MessageStatus": "received"}))
    assert not isinstance(received, DeliveryReport)


def test_status_without_a_status_is_a_payload_error() -> None:
    """A status callback must say the status."""
    with pytest.raises(InvalidWebhookPayload):
        TwilioWebhook(TWILIO_TOKEN).parse_status(*twilio_request({"MessageSid": "SM1"}))


def test_get_webhooks_are_signed_over_the_url() -> None:
    """A GET webhook's fields are in the signed query string."""
    url = f"{PUBLIC_BASE}/twilio/sms?From=%2B14155550100&Body=hi&MessageSid=SM3"
    headers = {"X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, {})}
    message = TwilioWebhook(TWILIO_TOKEN).parse_inbound(url, headers, b"", method="GET")
    assert (message.body, message.provider_message_id) == ("hi", "SM3")


@pytest.mark.parametrize(
    ("opt_out_type", "body", "keyword"),
    [("STOP", "arrêtez svp", "opt_out"), ("START", "go", "opt_in"), ("HELP", "?", "help")],
)
def test_twilio_advanced_opt_out_type_is_carried(
    opt_out_type: str, body: str, keyword: str
) -> None:
    """Twilio's Advanced Opt-Out has read (and acted on) a custom keyword: we are told."""
    params = {**STOP, "Body": body, "OptOutType": opt_out_type}
    url, headers, raw = twilio_request(params)
    message = TwilioWebhook(TWILIO_TOKEN).parse_inbound(url, headers, raw)
    assert message.carrier_keyword == keyword


def test_a_custom_opt_out_keyword_twilio_acted_on_revokes_in_the_ledger(
    esc: Escalator, clock: FakeClock
) -> None:
    """Our classifier reads "arrêtez svp" as nothing; Twilio blocked the number on it. Before,
    the ledger still said granted, and every text after went into the provider's block."""
    phone = Identity.phone("+14155550100")
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
    params = {**STOP, "Body": "arrêtez svp", "OptOutType": "STOP"}
    url, headers, raw = twilio_request(params)
    esc.handle_webhook(TwilioWebhook(TWILIO_TOKEN).parse_inbound(url, headers, raw))
    assert esc.consent.decide(phone, "transactional").reason == "revoked"
    assert esc.handoffs.get(handoff.id).state.value == "declined"


def test_a_body_over_max_bytes_is_refused_before_its_fields_are_parsed() -> None:
    """Unsigned junk of 2 MB was parsed into 500,000 form fields (some 60 MB, and
    seconds of CPU) before the signature could be checked."""
    url, headers, _ = twilio_request(STOP)
    with pytest.raises(InvalidWebhookPayload, match="bytes"):
        TwilioWebhook(TWILIO_TOKEN).parse(url, headers, b"a=b&" * 500_000)
    small = TwilioWebhook(TWILIO_TOKEN, max_bytes=100)
    with pytest.raises(InvalidWebhookPayload):
        small.parse_inbound(*twilio_request({**STOP, "Body": "x" * 100}))
    assert small.parse_inbound(*twilio_request(STOP)).body == "STOP"
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InvalidInput):
            TwilioWebhook(TWILIO_TOKEN, max_bytes=bad)
