"""SendGridInboundParse: a signed Inbound Parse POST (either mode) becomes an InboundMessage."""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    Escalator,
    Identity,
    InboundMessage,
    InvalidInput,
    InvalidWebhookPayload,
    WebhookSignatureError,
)
from escalate.testing import FakeClock
from escalate.webhooks import Applied, WebhookParser
from escalate.webhooks.sendgrid import SendGridInboundParse
from tests.webhooks.inbound_mail import CONTENT_TYPE, URL, form, parsed_fields, request
from tests.webhooks.security import Request, WebhookSecurityContract
from tests.webhooks.signing import SendGridKey

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
KEY = SendGridKey()
SIGNED = "support+ho_1.0123456789abcdef0123@acme.example"


def parser(**options: Any) -> SendGridInboundParse:
    return SendGridInboundParse(KEY.public, clock=FakeClock(NOW), **options)


def parse(body: bytes, **options: Any) -> InboundMessage:
    return parser(**options).parse(*request(KEY, body, NOW))


class TestSendGridInboundSecurity(WebhookSecurityContract):
    """The shared webhook security suite, for Inbound Parse with a signing security policy."""

    signature_header = "X-Twilio-Email-Event-Webhook-Signature"

    def parser(self, secret: str | None = "default", **options: Any) -> WebhookParser:
        return SendGridInboundParse(
            KEY.public if secret == "default" else secret, clock=FakeClock(NOW), **options
        )

    def wrong_secret(self) -> str:
        return SendGridKey().public

    def signed(self) -> Request:
        return request(KEY, form(parsed_fields(text="STOP")), NOW)

    def parse(
        self, parser: WebhookParser, url: str, headers: Mapping[str, str], body: bytes
    ) -> Any:
        # The boundary travels in Content-Type: the suite's bare requests keep it.
        headers = {"Content-Type": CONTENT_TYPE, **headers}
        return parser.parse(url, headers, body)  # type: ignore[attr-defined]


def test_the_parsed_mode_gives_sender_recipients_text_and_message_id() -> None:
    """Display names and encoded words around the From address; every recipient, envelope first."""
    fields = parsed_fields(
        sender="=?utf-8?q?J=C3=A4ne_Doe?= <Jane@Example.com>",
        to=f"Acme Support <{SIGNED}>",
        cc="Bob <bob@example.org>",
        envelope_to=["support@parse.acme.example"],
    )
    message = parse(form(fields))
    assert message.channel is Channel.EMAIL
    assert message.sender == Identity.email("jane@example.com")
    assert message.recipient == f"support@parse.acme.example, {SIGNED}, bob@example.org"
    assert message.body == "Thanks, it works now."
    assert message.provider == "sendgrid"
    assert message.provider_message_id == "<CAF=abc123@mail.gmail.com>"
    assert message.received_at == NOW  # our clock, not the Date header
    assert message.raw["SPF"] == "pass"
    assert "jane" not in repr(message).lower()


def test_charsets_say_how_each_field_is_encoded() -> None:
    """A Latin-1 text part (and a binary attachment) read right, and the signature still holds."""
    fields = parsed_fields(text="Merci, ça marche. STOP".encode("iso-8859-1"))
    fields["charsets"] = json.dumps({"text": "iso-8859-1", "from": "UTF-8"})
    message = parse(form(fields, files={"photo.jpg": b"\xff\xd8\xff\x00binary"}))
    assert message.body == "Merci, ça marche. STOP"
    assert "attachment1" not in message.raw  # attachments are never read


def test_an_unknown_charset_reads_as_utf8() -> None:
    """A charset Python does not know (or one that is not a text codec) does not lose the text."""
    for charset in ("x-unknown-8bit", "base64", "idna"):
        fields = parsed_fields(text="STOP")
        fields["charsets"] = json.dumps({"text": charset})
        assert parse(form(fields)).body == "STOP"


def test_the_quoted_earlier_message_is_cut() -> None:
    """Keyword detection sees the customer's words, not our quoted opt-out instructions."""
    text = (
        "Thanks!\r\n\r\nOn Mon, Jan 5, 2026 at 10:02 AM Acme wrote:\r\n> Reply STOP to opt out.\r\n"
    )
    message = parse(form(parsed_fields(text=text)))
    assert message.body == "Thanks!"
    assert "Reply STOP" in message.raw["text"]  # the whole text stays in raw


def test_an_html_only_reply_is_read_without_its_blockquote() -> None:
    """No text part: the HTML's text is used, the quoted <blockquote> left out."""
    fields = parsed_fields()
    del fields["text"]
    fields["html"] = (
        "<div>STOP<br></div><div class=gmail_quote><div>On Mon, Jan 5, 2026 Acme wrote:</div>"
        "<blockquote>Reply <b>STOP</b> to opt out.</blockquote></div>"
    )
    assert parse(form(fields)).body == "STOP"


@pytest.mark.parametrize(
    "head",
    [
        '<head><meta charset="utf-8">',  # </head> is optional in HTML
        "<head><title>Re: Your case K7QP-3M",  # and so, to a parser, is a closing tag
    ],
)
def test_an_html_reply_whose_head_is_left_open_keeps_its_stop(head: str) -> None:
    """The body after a head without its end tag is the customer's, not the head's."""
    fields = parsed_fields()
    del fields["text"]
    fields["html"] = (
        f"<html>{head}<body><div>STOP</div><blockquote>Reply STOP to opt out.</blockquote>"
        "</body></html>"
    )
    assert parse(form(fields)).body == "STOP"


def test_the_raw_mime_mode() -> None:
    """'POST the raw, full MIME message': headers and the text/plain body come from it."""
    mail = EmailMessage()
    mail["From"] = "Jane Doe <jane@example.com>"
    mail["To"] = f'"Acme, Support" <{SIGNED}>'
    mail["Cc"] = "bob@example.org"
    mail["Message-ID"] = "<raw-1@example.com>"
    mail["Subject"] = "Re: Your case"
    mail.set_content("Ça marche, merci.\n\n> Reply STOP to opt out.\n", charset="utf-8")
    mail.add_alternative("<p>Ça marche, merci.</p>", subtype="html")
    fields = {
        "email": mail.as_bytes(),
        "to": SIGNED,
        "from": "jane@example.com",
        "envelope": json.dumps({"to": [SIGNED], "from": "jane@example.com"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8"}),
    }
    message = parse(form(fields))
    assert message.sender == Identity.email("jane@example.com")
    assert message.body == "Ça marche, merci."
    assert message.recipient == f"{SIGNED}, bob@example.org"
    assert message.provider_message_id == "<raw-1@example.com>"
    assert message.sender_authenticated is None  # this post carries no SPF or dkim field
    fields.update({"SPF": "pass", "dkim": "{@example.com : pass}"})
    assert parse(form(fields)).sender_authenticated is True


def test_spf_and_dkim_say_whether_the_from_address_is_authenticated() -> None:
    """An aligned pass vouches; the forger's own domain passing, or failures, do not."""
    assert parse(form(parsed_fields())).sender_authenticated is True
    forged = parsed_fields(
        SPF="pass",
        dkim="{@evil.example : pass}",
        envelope=json.dumps({"to": ["support@acme.example"], "from": "x@evil.example"}),
    )
    assert parse(form(forged)).sender_authenticated is False
    failing = parsed_fields(SPF="softfail", dkim="{@example.com : fail}")
    assert parse(form(failing)).sender_authenticated is False
    unchecked = parsed_fields()
    del unchecked["SPF"], unchecked["dkim"]
    assert parse(form(unchecked)).sender_authenticated is None
    no_envelope_sender = parsed_fields(SPF="pass", dkim="none", envelope=json.dumps({"to": []}))
    assert parse(form(no_envelope_sender)).sender_authenticated is False


@pytest.mark.parametrize(
    "change",
    [
        {"from": "not an address"},
        {"from": ""},
        {"from": "Jane <jane@@example.com>"},
        {"envelope": "{not json"},
        {"envelope": "[1, 2]"},
        {"envelope": '{"to": "support@acme.example"}'},
        {"envelope": '{"to": [1]}'},
        {"charsets": "nope"},
        {"charsets": "null"},
    ],
)
def test_junk_fields_are_an_invalid_payload(change: dict[str, str | bytes]) -> None:
    """A missing or invalid From, and JSON fields that are not JSON objects: 400, nothing else."""
    fields = {**parsed_fields(), **change}
    with pytest.raises(InvalidWebhookPayload):
        parse(form(fields))


def test_a_missing_from_or_a_body_that_is_not_form_data_is_refused() -> None:
    """No From field; a JSON body; no Content-Type: InvalidWebhookPayload."""
    fields = parsed_fields()
    del fields["from"]
    with pytest.raises(InvalidWebhookPayload):
        parse(form(fields))
    url, headers, body = request(KEY, b'{"from": "jane@example.com"}', NOW)
    with pytest.raises(InvalidWebhookPayload):
        parser().parse(url, {**headers, "Content-Type": "application/json"}, body)
    with pytest.raises(InvalidWebhookPayload):
        parser().parse(url, {k: v for k, v in headers.items() if k != "Content-Type"}, body)


def test_huge_requests_and_replies_are_refused() -> None:
    """Over max_bytes before anything is read; a reply text over max_text_chars."""
    body = form(parsed_fields(text="x" * 2_000))
    with pytest.raises(InvalidWebhookPayload, match="bytes"):
        parse(body, max_bytes=1_000)
    with pytest.raises(InvalidWebhookPayload, match="characters"):
        parse(body, max_text_chars=1_000)
    with pytest.raises(InvalidInput):
        parser(max_bytes=0)


def test_a_retried_post_is_a_duplicate(esc: Escalator) -> None:
    """SendGrid retries a POST it got no 2xx for: the same Message-ID is applied once."""
    hook = SendGridInboundParse(KEY.public, clock=esc.clock)
    post = request(KEY, form(parsed_fields(text="STOP")), esc.clock.now())
    assert esc.handle_webhook(hook.parse(*post)) == [Applied.APPLIED]
    assert esc.handle_webhook(hook.parse(*post)) == [Applied.DUPLICATE]


def test_the_tenant_is_the_parsers() -> None:
    """A parser built for a tenant stamps its replies with it."""
    assert parse(form(parsed_fields()), tenant="acme").tenant == "acme"


FIELD_NAMES = st.sampled_from(
    ["from", "to", "cc", "text", "html", "headers", "envelope", "charsets", "email", "subject"]
)
VALUES = (
    st.text(max_size=60).map(str.encode)
    | st.binary(max_size=60)
    | st.sampled_from(
        [
            b"{}",
            b'{"to": ["a@b.co"]}',
            b'{"text": "utf-7"}',
            b"[]",
            b"null",
            b"Jane <jane@example.com>",
        ]
    )
)


@given(st.dictionaries(FIELD_NAMES | st.text(max_size=8), VALUES, max_size=8))
def test_any_signed_form_parses_or_is_an_invalid_payload(fields: dict[str, bytes]) -> None:
    """Whatever fields a signed POST carries: an InboundMessage, or InvalidWebhookPayload only."""
    try:
        message = parse(form(dict(fields)))
    except InvalidWebhookPayload:
        return
    assert message.sender.kind.value == "email"


@given(st.binary(max_size=300), st.text(max_size=80))
def test_any_bytes_and_content_type_are_an_invalid_payload_at_worst(
    body: bytes, content_type: str
) -> None:
    """Unverified (insecure) garbage: a message or InvalidWebhookPayload, never another error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hook = SendGridInboundParse(None, insecure=True, clock=FakeClock(NOW))
    for headers in ({"Content-Type": content_type}, {"Content-Type": CONTENT_TYPE}):
        try:
            hook.parse(URL, headers, body)
        except InvalidWebhookPayload:
            continue


def test_an_unsigned_post_is_refused_when_a_key_is_set() -> None:
    """Without the security policy's headers, a parser holding a key refuses the POST."""
    with pytest.raises(WebhookSignatureError):
        parser().parse(*request(None, form(parsed_fields()), NOW))


HEADER_TEXT = st.text(max_size=40).map(lambda t: t.replace("\n", " ").replace("\r", " "))


@given(HEADER_TEXT, HEADER_TEXT, HEADER_TEXT, HEADER_TEXT, st.binary(max_size=80))
def test_any_raw_mime_parses_or_is_an_invalid_payload(
    sender: str, to: str, message_id: str, content_type: str, payload: bytes
) -> None:
    """Hostile headers in the raw MIME mode reach the stdlib parser; only typed errors leave."""
    head = f"From: {sender}\r\nTo: {to}\r\nMessage-ID: {message_id}\r\nContent-Type: {content_type}"
    mail = head.encode("utf-8", "surrogatepass") + b"\r\n\r\n" + payload
    try:
        message = parse(form({"email": mail, "from": "jane@example.com"}))
    except InvalidWebhookPayload:
        return
    assert message.sender == Identity.email("jane@example.com") or "@" in sender
