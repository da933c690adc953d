"""Both email adapters with what is not plain ASCII: names, domains, mailboxes, odd line breaks."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput, PermanentTransportError
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.smtp import SMTPEmail
from tests.transports.conftest import email
from tests.transports.smtp_stub import SMTPStub
from tests.transports.stub_server import StubServer

#: Every character ``str.splitlines()`` breaks on, which the email package refuses in a header.
LINE_BREAKS = [
    "\r\n",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
]


def smtp(port: int, **options: object) -> SMTPEmail:
    settings: dict[str, object] = {"from_email": "help@acme.example", "starttls": False}
    settings.update(options)
    return SMTPEmail("127.0.0.1", port, timeout=0.5, **settings)  # type: ignore[arg-type]


def sendgrid(url: str, **options: object) -> SendGridEmail:
    settings: dict[str, object] = {"from_email": "help@acme.example", "host": url}
    settings.update(options)
    return SendGridEmail("SG.secret-key", timeout=2.0, **settings)  # type: ignore[arg-type]


def test_a_non_ascii_sender_name_with_a_comma_stays_one_sender() -> None:
    """From "Zoë Support, Inc." is one mailbox with that name, not two broken ones."""
    with SMTPStub() as server:
        smtp(server.port, from_name="Zoë Support, Inc.").send(email())
    (raw,) = server.messages
    sender = message_from_bytes(raw, policy=policy.default)["From"]
    assert [(a.display_name, a.addr_spec) for a in sender.addresses] == [
        ("Zoë Support, Inc.", "help@acme.example")
    ]


def test_an_internationalized_domain_goes_out_in_a_labels() -> None:
    """jane@bücher.de is sent to jane@xn--bcher-kva.de, the form SMTP and headers carry."""
    with SMTPStub() as server:
        transport = smtp(
            server.port,
            from_email="help@bücher.example",
            reply_to="support+{reference}@bücher.example",
        )
        result = transport.send(email(to="jane@bücher.de"))
    (raw,) = server.messages
    sent = message_from_bytes(raw, policy=policy.default)
    commands = [command.lower() for command in server.commands]
    assert "mail from:<help@xn--bcher-kva.example>" in commands
    assert "rcpt to:<jane@xn--bcher-kva.de>" in commands
    assert sent["To"] == "jane@xn--bcher-kva.de"
    assert sent["Reply-To"] == "support+K7QP-3M@xn--bcher-kva.example"
    assert sent["Message-ID"] == result.provider_message_id == "<ob_2@xn--bcher-kva.example>"


def test_the_default_message_id_domain_is_ascii_for_sendgrid_too(stub: StubServer) -> None:
    """A sender on an internationalized domain gives Message-IDs in its A-labels."""
    sendgrid(stub.url, from_email="help@bücher.example").send(email("ob_7"))
    headers = stub.received[0].json["headers"]
    assert headers["Message-ID"] == "<ob_7@xn--bcher-kva.example>"
    assert headers["References"] == "<handoff.ho_1@xn--bcher-kva.example>"


def test_a_non_ascii_mailbox_goes_with_smtputf8() -> None:
    """josé@example.com needs SMTPUTF8: offered, it is used and the header is UTF-8."""
    with SMTPStub(advertise_smtputf8=True) as server:
        smtp(server.port).send(email(to="josé@example.com"))
    (raw,) = server.messages
    commands = [command.lower() for command in server.commands]
    assert "mail from:<help@acme.example> smtputf8 body=8bitmime" in commands
    assert "rcpt to:<josé@example.com>" in commands
    assert message_from_bytes(raw, policy=policy.SMTPUTF8)["To"] == "josé@example.com"


def test_a_non_ascii_mailbox_without_smtputf8_fails_for_good_unsent() -> None:
    """A server without SMTPUTF8 cannot take josé@: a permanent failure, nothing sent."""
    with SMTPStub() as server, pytest.raises(PermanentTransportError, match="SMTPUTF8"):
        smtp(server.port).send(email(to="josé@example.com"))
    assert "MAIL" not in server.log
    assert server.messages == []


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_a_subject_with_a_line_break_is_refused_before_sending(stub: StubServer, brk: str) -> None:
    """A subject that could forge headers is a permanent error for both adapters; nothing goes."""
    message = email(subject=f"Re: order{brk}Bcc: victim@evil.example")
    with pytest.raises(PermanentTransportError, match="line break"):
        sendgrid(stub.url).send(message)
    assert stub.received == []
    with SMTPStub() as server, pytest.raises(PermanentTransportError, match="line break"):
        smtp(server.port).send(message)
    assert server.log == []


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_a_header_with_any_line_break_is_refused_before_sending(brk: str) -> None:
    """Not only CR and LF: every break the email package refuses is a PermanentTransportError."""
    message = email(headers={"X-Case": f"a{brk}Bcc: victim@evil.example"})
    with SMTPStub() as server, pytest.raises(PermanentTransportError, match="line break"):
        smtp(server.port).send(message)
    assert server.log == []


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_settings_with_any_line_break_are_refused_when_made(brk: str) -> None:
    """A sender name or subject template that would fail every send fails construction."""
    for settings in ({"from_name": f"Acme{brk}Support"}, {"subject": f"Case {{reference}}{brk}"}):
        with pytest.raises(InvalidInput, match="line break"):
            smtp(25, **settings)
        with pytest.raises(InvalidInput, match="line break"):
            sendgrid("http://127.0.0.1:9", **settings)


@given(st.text(max_size=40))
def test_any_sender_name_is_one_from_mailbox_or_refused(name: str) -> None:
    """Whatever the name (commas, quotes, brackets, any script), From names one mailbox: ours."""
    try:
        transport = SMTPEmail("127.0.0.1", from_email="help@acme.example", from_name=name)
    except InvalidInput:
        assert any(brk in name for brk in LINE_BREAKS)
        return
    raw = transport.build(email()).as_bytes()
    sender = message_from_bytes(raw, policy=policy.default)["From"]
    assert [a.addr_spec for a in sender.addresses] == ["help@acme.example"]


@given(st.text(min_size=1, max_size=20))
def test_any_subject_is_written_or_refused_before_sending(subject: str) -> None:
    """A message's own subject builds, or is a PermanentTransportError: never a bare ValueError."""
    transport = SMTPEmail("127.0.0.1", from_email="help@acme.example")
    try:
        raw = transport.build(email(subject=subject)).as_bytes()
    except PermanentTransportError:
        assert any(brk in subject for brk in LINE_BREAKS)
        return
    assert raw.count(b"\nSubject:") == 1
