"""SendGrid Inbound Parse POSTs for tests: multipart/form-data bodies as SendGrid builds them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.webhooks.signing import PUBLIC_BASE, SendGridKey

BOUNDARY = "xYzZY"  # the boundary SendGrid's own posts use
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
URL = f"{PUBLIC_BASE}/sendgrid/inbound"


def form(fields: dict[str, str | bytes], files: dict[str, bytes] | None = None) -> bytes:
    """A multipart/form-data body: text fields as given (bytes kept as they are), then files."""
    parts = []
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{BOUNDARY}\r\n{disposition}\r\n\r\n".encode() + raw + b"\r\n")
    for index, (filename, data) in enumerate((files or {}).items(), start=1):
        disposition = (
            f'Content-Disposition: form-data; name="attachment{index}"; filename="{filename}"'
        )
        head = f"--{BOUNDARY}\r\n{disposition}\r\nContent-Type: application/octet-stream\r\n\r\n"
        parts.append(head.encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def parsed_fields(
    *,
    sender: str = "Jane Doe <jane@example.com>",
    to: str = "support@acme.example",
    text: str | bytes = "Thanks, it works now.",
    message_id: str = "<CAF=abc123@mail.gmail.com>",
    envelope_to: list[str] | None = None,
    **extra: Any,
) -> dict[str, str | bytes]:
    """The default (parsed) mode's fields for one reply."""
    envelope = {"to": envelope_to or [to], "from": "jane@example.com"}
    headers = (
        f"Received: by mx.sendgrid.net\nFrom: {sender}\nTo: {to}\n"
        f"Subject: Re: Your case K7QP-3M\nMessage-ID: {message_id}\n"
        "Date: Mon, 5 Jan 2026 10:05:00 -0800\n"
    )
    fields: dict[str, str | bytes] = {
        "headers": headers,
        "dkim": "{@example.com : pass}",
        "to": to,
        "from": sender,
        "subject": "Re: Your case K7QP-3M",
        "text": text,
        "envelope": json.dumps(envelope),
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}
        ),
        "SPF": "pass",
        "spam_score": "0.1",
    }
    fields.update(extra)
    return fields


def request(
    key: SendGridKey | None, body: bytes, at: datetime
) -> tuple[str, dict[str, str], bytes]:
    """The POST as the app sees it: signed with ``key`` (a security policy), or unsigned."""
    headers = {"Content-Type": CONTENT_TYPE}
    if key is not None:
        headers.update(key.sign(body, at))
    return URL, headers, body
