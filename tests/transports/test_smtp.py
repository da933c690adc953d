"""SMTPEmail against a scripted SMTP server: threading headers, and every failure by stage."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest

from escalate import (
    InvalidInput,
    InvalidRecipient,
    PermanentTransportError,
    RetryableTransportError,
    TransportError,
    UnknownOutcomeError,
)
from escalate.transports.smtp import SMTPEmail
from tests.transports.conftest import email
from tests.transports.smtp_stub import SMTPStub


def make(port: int, **options: object) -> SMTPEmail:
    settings: dict[str, object] = {
        "from_email": "help@acme.example",
        "reply_to": "support+{reference}@inbound.acme.example",
        "starttls": False,
        "timeout": 0.5,
    }
    settings.update(options)
    return SMTPEmail("127.0.0.1", port, **settings)  # type: ignore[arg-type]


def test_sends_one_threaded_message() -> None:
    """The server receives one message with Message-ID, In-Reply-To, References and Reply-To."""
    with SMTPStub() as server:
        result = make(server.port, username="u", password="p").send(email("ob_9"))
    (raw,) = server.messages
    sent = message_from_bytes(raw)
    assert sent["Message-ID"] == "<ob_9@acme.example>"
    assert sent["In-Reply-To"] == sent["References"] == "<handoff.ho_1@acme.example>"
    assert sent["Reply-To"] == "support+K7QP-3M@inbound.acme.example"
    assert sent["Subject"] == "Your case K7QP-3M"
    assert "AUTH" in server.log
    assert result.provider_message_id == "<ob_9@acme.example>"


@pytest.mark.parametrize(
    ("stage", "answer", "expected"),
    [
        ("rcpt", "550 5.1.1 no such user", InvalidRecipient),
        ("rcpt", "553 5.1.3 bad mailbox", InvalidRecipient),
        ("rcpt", "452 4.2.2 mailbox full", RetryableTransportError),
        ("mail", "451 4.7.1 greylisted", RetryableTransportError),
        ("auth", "535 5.7.8 bad credentials", PermanentTransportError),
        ("data", "554 5.7.1 rejected as spam", PermanentTransportError),
        ("data", "451 4.3.0 try later", RetryableTransportError),
        ("mail", "drop", RetryableTransportError),
        ("data", "hang", UnknownOutcomeError),
        ("data", "drop", UnknownOutcomeError),
    ],
)
def test_failure_maps_by_stage(stage: str, answer: str, expected: type[TransportError]) -> None:
    """A refusal before DATA completes is retryable or permanent; a lost DATA answer is unknown."""
    with SMTPStub() as server:
        server.faults[stage] = answer
        with pytest.raises(TransportError) as caught:
            make(server.port, username="u", password="p").send(email())
    assert type(caught.value) is expected
    assert server.log.count("DATA") <= 1


def test_lost_data_answer_was_delivered_once() -> None:
    """When DATA's answer never comes the server already holds exactly one copy."""
    with SMTPStub() as server:
        server.faults["data"] = "hang"
        with pytest.raises(UnknownOutcomeError):
            make(server.port).send(email())
    assert len(server.messages) == 1


def test_starttls_missing_fails_without_sending_credentials() -> None:
    """A server without STARTTLS is a permanent error; no AUTH goes out in cleartext."""
    with SMTPStub(advertise_starttls=False) as server, pytest.raises(PermanentTransportError):
        make(server.port, starttls=True, username="u", password="p").send(email())
    assert "AUTH" not in server.log
    assert server.messages == []


def test_connection_refused_is_retryable() -> None:
    """No server listening: nothing was sent, so it is safe to retry."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RetryableTransportError):
        make(port).send(email())


def test_from_env_reads_the_smtp_variables() -> None:
    """from_env reads SMTP_* variables; STARTTLS stays on unless turned off."""
    transport = SMTPEmail.from_env(
        {"SMTP_HOST": "smtp.example", "SMTP_PORT": "2525", "SMTP_FROM_EMAIL": "a@acme.example"}
    )
    assert (transport.host, transport.port) == ("smtp.example", 2525)
    assert transport._starttls is True
    with pytest.raises(InvalidInput, match="SMTP_HOST"):
        SMTPEmail.from_env({"SMTP_FROM_EMAIL": "a@acme.example"})


@pytest.mark.parametrize("port", ["587x", "", " ", "0", "70000", "-25", "\u0665\u0668\u0667"])
def test_from_env_refuses_a_port_that_is_no_port_number(port: str) -> None:
    """A bad SMTP_PORT is InvalidInput naming the variable, not int()'s bare ValueError."""
    env = {"SMTP_HOST": "smtp.example", "SMTP_FROM_EMAIL": "a@acme.example", "SMTP_PORT": port}
    if not port.strip():
        assert SMTPEmail.from_env(env).port == 587  # unset or blank: the default
        return
    with pytest.raises(InvalidInput, match="SMTP_PORT") as raised:
        SMTPEmail.from_env(env)
    assert port not in str(raised.value)
