"""SendGridEmail: the Mail Send body it posts, threading headers, X-Message-Id, config."""

from __future__ import annotations

import logging

import pytest

from escalate import DeliveryStatus, InvalidInput, InvalidRecipient, PermanentTransportError
from escalate.transports.sendgrid import CUSTOM_ARG, SendGridEmail
from tests.transports.conftest import email, sms
from tests.transports.stub_server import StubServer


def make(url: str, **options: object) -> SendGridEmail:
    settings: dict[str, object] = {
        "from_email": "help@acme.example",
        "from_name": "Acme Support",
        "reply_to": "support+{reference}@inbound.acme.example",
        "host": url,
        "timeout": 2.0,
    }
    settings.update(options)
    return SendGridEmail("SG.secret-key", **settings)  # type: ignore[arg-type]


def test_posts_a_threaded_mail_and_reads_x_message_id(stub: StubServer) -> None:
    """The body threads under the handoff, routes replies by reference, and the id is read."""
    result = make(stub.url).send(email("ob_7"))
    (request,) = stub.received
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == "Bearer SG.secret-key"
    body = request.json
    assert body["from"] == {"email": "help@acme.example", "name": "Acme Support"}
    assert body["personalizations"][0]["to"] == [{"email": "jane@example.com"}]
    assert body["reply_to"] == {"email": "support+K7QP-3M@inbound.acme.example"}
    assert body["subject"] == "Your case K7QP-3M"
    assert body["content"][0]["type"] == "text/plain"
    headers = body["headers"]
    assert headers["Message-ID"] == "<ob_7@acme.example>"
    assert headers["In-Reply-To"] == headers["References"] == "<handoff.ho_1@acme.example>"
    assert body["personalizations"][0]["custom_args"] == {CUSTOM_ARG: "ob_7"}
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("sg")
    assert result.status is DeliveryStatus.QUEUED


def test_message_headers_win_over_defaults(stub: StubServer) -> None:
    """A message replying to the customer's own mail keeps its In-Reply-To and subject."""
    message = email(
        subject="Re: my order",
        headers={"In-Reply-To": "<cust-1@mail.example>", "References": "<cust-1@mail.example>"},
    )
    make(stub.url).send(message)
    body = stub.received[0].json
    assert body["subject"] == "Re: my order"
    assert body["headers"]["In-Reply-To"] == "<cust-1@mail.example>"


def test_header_with_a_line_break_is_refused_before_sending(stub: StubServer) -> None:
    """A header value that could forge headers is a permanent error, and nothing is sent."""
    with pytest.raises(PermanentTransportError, match="line break"):
        make(stub.url).send(email(headers={"X-Case": "a\r\nBcc: x@evil.example"}))
    assert stub.received == []


def test_each_send_uses_fresh_request_headers(stub: StubServer) -> None:
    """Two sends through one adapter carry identical, non-accumulated headers."""
    transport = make(stub.url)
    transport.send(email("ob_a"))
    transport.send(email("ob_b"))
    first, second = (request.headers for request in stub.received)
    assert first.keys() == second.keys()
    assert [
        request.json["personalizations"][0]["custom_args"][CUSTOM_ARG] for request in stub.received
    ] == [
        "ob_a",
        "ob_b",
    ]


def test_a_phone_number_is_refused_before_any_request(stub: StubServer) -> None:
    """SendGrid sends email only; an SMS message is a permanent error with no request."""
    with pytest.raises(InvalidRecipient):
        make(stub.url).send(sms())
    assert stub.received == []


def test_from_env_reads_the_sendgrid_variables() -> None:
    """from_env reads SENDGRID_* variables and never shows the key in its repr."""
    transport = SendGridEmail.from_env(
        {"SENDGRID_API_KEY": "SG.k", "SENDGRID_FROM_EMAIL": "help@acme.example"}
    )
    assert transport.settings.from_email == "help@acme.example"
    assert "SG.k" not in repr(transport)
    with pytest.raises(InvalidInput, match="SENDGRID_API_KEY"):
        SendGridEmail.from_env({"SENDGRID_FROM_EMAIL": "help@acme.example"})


def test_debug_logging_writes_no_key_recipient_or_body(
    stub: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    """python_http_client dumps requests at DEBUG; importing the adapter silences that."""
    with caplog.at_level(logging.DEBUG):
        make(stub.url).send(email("ob_9"))
    logged = caplog.text
    assert "SG.secret-key" not in logged
    assert "jane@example.com" not in logged
    assert email("ob_9").body not in logged
    assert not [r for r in caplog.records if r.name.startswith("python_http_client")]
