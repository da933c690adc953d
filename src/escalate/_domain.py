"""The domain names, addresses and links escalate writes out, checked where configured.

A Message-ID's right-hand side (RFC 5322 ``id-right``) and a reply-to mailbox's
domain end up in every email a handoff sends; a bad one would only show at send
time (a line break fails every email) or as a broken thread. A link is posted
publicly (``contact_url``) or names the address a provider signs (a webhook's
``public_base_url``). So each setting is refused when it is made.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import idna
from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from escalate._exceptions import InvalidInput

__all__ = ["check_email", "check_url", "has_line_break", "header_domain"]

#: What ``str.splitlines()`` breaks a line on. The email package refuses a header
#: value holding any of them, not just CR and LF (a vertical tab, U+2028...).
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def has_line_break(text: str) -> bool:
    """Whether ``text`` holds a line break, by the email package's reckoning."""
    return not _LINE_BREAKS.isdisjoint(text)


def header_domain(value: object, setting: str) -> str:
    """``value`` as an ASCII host name, fit for a Message-ID's right-hand side.

    An internationalized name comes back IDNA-encoded (``xn--``), so the header
    stays ASCII; letters are lowercased.

    Raises:
        InvalidInput: not a string, or not a host name (empty, a space, ``>``,
            a line break, an empty label, a trailing dot, too long).
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{setting} must be str, not {type(value).__name__}")
    try:
        # UTS 46 with the STD3 rules is exactly a host name: dot-separated
        # labels of letters, digits and inner hyphens, each within DNS limits.
        encoded = idna.encode(value, uts46=True, std3_rules=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidInput(
            f"{setting} must be a domain name like mail.brand.example ({exc})"
        ) from None
    if encoded.endswith("."):
        # The DNS root dot is not dot-atom-text: "<id@brand.example.>" is malformed.
        raise InvalidInput(f"{setting} must be a domain name without a trailing dot")
    return encoded


def check_url(value: str | None, name: str) -> None:
    """Refuse a link that is not an absolute http(s) URL with a host.

    The link is posted publicly as it is written: ``"not a url"`` would read as
    "share a phone number or email at not a url?ref=...", and a
    ``javascript:`` link must never be offered to a customer.
    """
    if value is None:
        return
    example = "an absolute http(s) URL like https://brand.example/contact"
    if any(char.isspace() or not char.isprintable() for char in value):
        # urlsplit quietly drops tabs and line breaks; the post would not.
        raise InvalidInput(f"{name} must be {example}, without spaces or line breaks")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        _ = parts.port  # a port that is not a number in range raises here
    except ValueError:
        raise InvalidInput(f"{name} must be {example}, not {value!r}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput(f"{name} must be {example}, not {value!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # The root dot is allowed in a URL's host, unlike in a Message-ID.
        header_domain(host.removesuffix("."), f"{name}'s host")


def check_email(value: str, refused: str, *, ascii_only: bool = False) -> ValidatedEmail:
    """``value`` read as an email address (email-validator, no DNS lookup), or refused.

    ``refused`` opens the ``InvalidInput`` message (email-validator's reason
    follows); ``ascii_only`` refuses an internationalized mailbox name.
    """
    try:
        return validate_email(value, check_deliverability=False, allow_smtputf8=not ascii_only)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{refused} ({exc})") from None
