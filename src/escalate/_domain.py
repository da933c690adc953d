"""The domain names escalate writes into email headers, checked where they are configured.

A Message-ID's right-hand side (RFC 5322 ``id-right``) and a reply-to mailbox's
domain end up in every email a handoff sends; a bad one would only show at send
time (a line break fails every email) or as a broken thread, so the setting is
refused when it is made.
"""

from __future__ import annotations

import idna

from escalate._exceptions import InvalidInput

__all__ = ["header_domain"]


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
