"""Redaction of personal data for logs, reprs and console output.

Phone numbers keep their country code and last two digits, emails their first
letter and domain, message bodies only their length: enough to tell records
apart while debugging, not enough to contact anyone.
"""

from __future__ import annotations

__all__ = ["redact_address", "redact_body", "redact_email", "redact_phone"]


def redact_phone(e164: str) -> str:
    """``+14155550100`` -> ``+1*******00``."""
    if len(e164) < 6:
        return "***"
    prefix = 3 if e164.startswith("+") and not e164.startswith("+1") else 2
    return e164[:prefix] + "*" * (len(e164) - prefix - 2) + e164[-2:]


def redact_email(address: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def redact_address(kind: str, value: str) -> str:
    """Redact an identity value by its kind; social ids are public and kept."""
    if kind == "phone":
        return redact_phone(value.removeprefix("whatsapp:"))
    if kind == "email":
        return redact_email(value)
    return value


def redact_body(body: str) -> str:
    """A message body is never logged; only its size is."""
    return f"<{len(body)} chars>"
