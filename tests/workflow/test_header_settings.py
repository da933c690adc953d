"""Domains that end up in every email's headers are refused when configured, not at send."""

from __future__ import annotations

from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput, ReplyAddressing, Workflow
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.smtp import SMTPEmail

SECRET = b"k" * 16
CRLF_INJECTION = "acme.example\r\nBcc: victim@evil.example"
BAD_DOMAINS = [
    "",
    "a b",
    "x>y",
    CRLF_INJECTION,
    "acme.example\n",
    "a..example",
    ".acme.example",
    "acme.example.",
    "-acme.example",
    "acme_mail.example",
    "[192.0.2.1]",
    "a@b.example",
    "a" * 64 + ".example",
]


def parses_cleanly(message_id: str) -> bool:
    """The stdlib reads the Message-ID back whole, with no defect."""
    header = policy.default.header_factory("Message-ID", message_id)
    return str(header) == message_id and not header.defects


@pytest.mark.parametrize("bad", BAD_DOMAINS)
def test_a_message_id_domain_that_is_no_host_name_is_refused(bad: str) -> None:
    """``<ho_…@>``, ``<ho_…@a b>``, ``<ho_…@x>y>``, or a forged Bcc: refused up front."""
    with pytest.raises(InvalidInput, match="message_id_domain"):
        Workflow.default(message_id_domain=bad)


def test_a_message_id_domain_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidInput, match="message_id_domain must be str"):
        Workflow.default(message_id_domain=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given_domain", "stored"),
    [
        ("escalate.invalid", "escalate.invalid"),
        ("localhost", "localhost"),
        ("Mail.Acme.Example", "mail.acme.example"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_a_host_name_is_kept_in_ascii(given_domain: str, stored: str) -> None:
    workflow = Workflow.default(message_id_domain=given_domain)
    assert workflow.settings["message_id_domain"] == stored


@given(st.text(max_size=40))
def test_any_accepted_domain_makes_a_well_formed_message_id(domain: str) -> None:
    """Whatever is accepted gives a Message-ID the stdlib parses with no defect."""
    try:
        workflow = Workflow.default(message_id_domain=domain)
    except InvalidInput:
        return
    stored = workflow.settings["message_id_domain"]
    assert stored.isascii()
    assert parses_cleanly(f"<ho_0123.1.0@{stored}>")


@given(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)
    # "ab--c" is reserved for A-labels (IDNA 2008): "00--0" is rightly refused.
    .filter(lambda domain: all(label[2:4] != "--" for label in domain.split(".")))
)
def test_every_host_name_is_accepted(domain: str) -> None:
    assert Workflow.default(message_id_domain=domain).settings["message_id_domain"] == domain


@pytest.mark.parametrize(
    "address",
    [
        "support@a b",
        "sup port@acme.example",
        "support@x>y",
        "support@" + CRLF_INJECTION,
        "support@escalate.invalid",  # replies could never arrive
        "support@acme.example.",
    ],
)
def test_reply_addressing_refuses_an_address_no_reply_could_reach(address: str) -> None:
    """Its domain is the Message-IDs' and the Reply-To's: a bad one failed at send."""
    with pytest.raises(InvalidInput, match="plain mailbox"):
        ReplyAddressing(address, SECRET)


def test_reply_addressing_writes_an_internationalized_domain_in_ascii() -> None:
    replies = ReplyAddressing("support@bücher.example", SECRET)
    assert replies.domain == "xn--bcher-kva.example"
    signed = replies.address_for("ho_abc")
    assert signed.endswith("@xn--bcher-kva.example")
    assert replies.resolve(signed) == "ho_abc"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"message_id_domain": "a b"}, "message_id_domain"),
        ({"message_id_domain": CRLF_INJECTION}, "message_id_domain"),
        ({"reply_to": "support+{ref}@acme.example"}, "reply_to may use only"),
        ({"reply_to": "support+{reference}@a b"}, "reply_to must be an email address"),
        ({"reply_to": "support@acme.example\r\nBcc: victim@evil.example"}, "line break"),
        ({"subject": "Case {reference}\r\nBcc: victim@evil.example"}, "line break"),
        ({"subject": "Case {number}"}, "subject may use only"),
    ],
)
def test_email_transports_refuse_header_settings_that_would_fail_every_send(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        SMTPEmail("127.0.0.1", from_email="help@acme.example", **settings)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=named):
        SendGridEmail("SG.key", from_email="help@acme.example", **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sender", "named"),
    [
        ({"from_email": "not-an-address"}, "from_email must be an email address"),
        ({"from_email": "help@acme.example\r\nBcc: victim@evil.example"}, "from_email"),
        (
            {"from_email": "help@acme.example", "from_name": "Acme\r\nBcc: x@evil.example"},
            "from_name",
        ),
    ],
)
def test_email_transports_refuse_a_sender_no_email_could_carry(
    sender: dict[str, str], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        SMTPEmail("127.0.0.1", **sender)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=named):
        SendGridEmail("SG.key", **sender)  # type: ignore[arg-type]


def test_email_transports_keep_good_header_settings() -> None:
    transport = SMTPEmail(
        "127.0.0.1",
        from_email="help@acme.example",
        reply_to="support+{reference}@inbound.acme.example",
        message_id_domain="Mail.Bücher.example",
    )
    assert transport.settings.domain == "mail.xn--bcher-kva.example"


def test_a_reserved_label_that_is_no_a_label_is_refused() -> None:
    """Hyphens in the 3rd and 4th place mark an A-label (IDNA 2008); "00--0" is none."""
    with pytest.raises(InvalidInput, match="hyphens"):
        Workflow.default(message_id_domain="00--0")
