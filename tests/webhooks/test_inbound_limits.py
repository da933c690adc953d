"""Hostile inbound email: anyone can write to the parse address, so every header and
body is read in time linear in its size, and junk ends in InvalidWebhookPayload.

The timings are generous bounds, in this process's CPU time (a loaded host
stretches wall time, not that): each case took tens of seconds (or raised a
RecursionError) before, and takes milliseconds now.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from escalate import Identity, InvalidWebhookPayload
from escalate.webhooks import strip_quoted
from escalate.webhooks._mail import MAX_HEADER_CHARS
from tests.webhooks.inbound_mail import form, parsed_fields
from tests.webhooks.test_sendgrid_inbound import SIGNED, parse


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail when the block takes more than ``seconds`` of this process's CPU time."""
    start = time.process_time()
    yield
    took = time.process_time() - start
    assert took < seconds, f"took {took:.1f} s of CPU"


def raw_mode(mail: str) -> bytes:
    """A "POST the raw, full MIME message" form around ``mail``."""
    return form(
        {
            "email": mail.encode("utf-8"),
            "from": "jane@example.com",
            "envelope": json.dumps({"to": [SIGNED], "from": "jane@example.com"}),
        }
    )


def test_nested_comments_in_a_from_are_an_invalid_payload() -> None:
    """A From of a thousand "(" made the stdlib's address parser raise RecursionError (a 500)."""
    body = form(parsed_fields(sender="(" * 1_000 + "jane@example.com"))
    with pytest.raises(InvalidWebhookPayload):
        parse(body)


def test_nested_comments_in_a_recipient_header_are_junk_not_an_error() -> None:
    """The same in a To or Cc: that header reads as no address, the reply still counts."""
    fields = parsed_fields(text="STOP", cc="(" * 1_000, to="a:" * 1_000, envelope_to=[SIGNED])
    message = parse(form(fields))
    assert message.body == "STOP"
    assert message.recipient == SIGNED  # the envelope's


def test_a_reply_to_a_hundred_thousand_recipients_is_read_in_linear_time() -> None:
    """Each address was looked for in a list of those before it: minutes of work."""
    to = ", ".join(f"user{index}@example.com" for index in range(100_000))
    with within(5):
        message = parse(form(parsed_fields(to=to, envelope_to=[SIGNED])))
    assert message.recipient is not None
    assert message.recipient.count("@") == 100_001  # every one once, and the envelope's


@pytest.mark.parametrize(
    "header",
    [
        "To: " + '"' * 30_000,
        "To: " + "=?utf-8?q?a?= " * 20_000,
        "Cc: " + "a@b.c," * 30_000,
        "Cc: " + "\\" * 60_000,
    ],
    ids=["quotes", "encoded-words", "many-addresses", "backslashes"],
)
def test_hostile_address_headers_of_a_raw_email_are_read_in_linear_time(header: str) -> None:
    """policy.default's structured header parser took seconds to minutes on these."""
    mail = f"From: Jane <jane@example.com>\r\n{header}\r\n\r\nSTOP"
    with within(3):
        message = parse(raw_mode(mail))
    assert message.sender == Identity.email("jane@example.com")
    assert message.body == "STOP"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain" + "; a=b" * 20_000,
        'text/plain; a="' + '"' * 20_000,
        "multipart/mixed; boundary=x" + "; a=b" * 20_000,
    ],
    ids=["parameters", "quotes", "multipart"],
)
def test_an_overlong_content_type_is_refused_at_once(content_type: str) -> None:
    """Reading its parameters took seconds per header, and a message may hold thousands."""
    mail = f"From: jane@example.com\r\nContent-Type: {content_type}\r\n\r\n--x\r\n\r\nSTOP\r\n--x--"
    with within(3), pytest.raises(InvalidWebhookPayload):
        parse(raw_mode(mail))


def test_an_attachment_name_over_the_limit_is_refused() -> None:
    """A form part's file name is the sender's: over MAX_HEADER_CHARS, the POST is refused."""
    name = "a" * MAX_HEADER_CHARS
    boundary = "xYzZY"
    attachment = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachment1"; '
        f'filename="{name}"\r\n\r\nDATA\r\n'
    ).encode()
    body = form(parsed_fields())
    with pytest.raises(InvalidWebhookPayload):
        parse(body.replace(f"--{boundary}--".encode(), attachment + f"--{boundary}--".encode()))


def test_a_normal_attachment_name_is_still_skipped() -> None:
    """Below the limit nothing changes: the attachment is not a field."""
    body = form(parsed_fields(text="STOP"), files={"a" * 200 + ".pdf": b"%PDF"})
    assert parse(body).body == "STOP"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("On 1 May Jane wrote:\n> x\n" * 100_000 + "STOP", "STOP"),
        (("Am " + "schrieb " * 30_000 + "\n") * 3 + "STOP", None),
        ("x" + " " * 200_000 + "x\nSTOP", None),
        ("From" + "\t" * 200_000 + "x\nSTOP", None),
    ],
    ids=["attributions", "schrieb", "spaces", "tabs"],
)
def test_cutting_quotes_takes_linear_time(text: str, kept: str | None) -> None:
    """Each of these made strip_quoted re-read the rest of a line or message per
    line or per space: a minute for a reply anyone can send."""
    with within(3):
        reply = strip_quoted(text)
    assert reply.endswith("STOP")
    if kept is not None:
        assert reply == kept
