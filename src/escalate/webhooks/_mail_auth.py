"""Whether an inbound email's From address is vouched for by the receiver's SPF and DKIM checks.

SendGrid Inbound Parse posts its verdicts as text: ``dkim`` as one ``@domain :
result`` entry per signature (``{@example.com : pass}``, several comma
separated), ``SPF`` as one result (``pass``, ``fail``, ``softfail``,
``neutral``, ``none``...) for the envelope sender (``envelope.from``). A pass
says nothing of the From address by itself: anyone can sign their own domain,
or send from an IP their own domain allows. It counts only when its domain
aligns with the From domain, relaxed as DMARC has it: the same domain, or the
From domain under it (``mail.example.com`` under ``example.com``). The other
direction (a signature of ``mail.example.com`` for ``example.com``) is left out:
telling which parent is an organization's and which a public suffix needs a
public-suffix list, and a genuine sender rarely needs it. Domains compare by
their A-labels (``xn--bcher-kva.de`` for ``bücher.de``), as DKIM and SMTP carry
them.

Pure and total: any text in, a verdict out.
"""

from __future__ import annotations

import re

__all__ = ["aligned", "passing_dkim_domains", "sender_authenticated"]

# One comma-separated entry, "@example.com : pass", with or without its braces.
# The whole entry must be that: a signer's d= may itself hold " : pass", and an
# entry such as "@example.com : pass : fail" is a failed signature, not a pass.
# Matched on the stripped entry: ``\s*\{?\s*`` at either end split a run of
# spaces every way there is, and an entry of 20,000 spaces took half a second.
_DKIM_ENTRY = re.compile(r"\{?\s*@([^\s:,;{}@]+)\s*:\s*([A-Za-z]+)\s*\}?")


def _domain(address: str | None) -> str | None:
    """The domain of an addr-spec (angle brackets allowed), lowercased; ``None`` if it has none."""
    if not address:
        return None
    _, at, domain = address.strip().strip("<>").rpartition("@")
    return _normal(domain) if at else None


def _normal(domain: str) -> str | None:
    domain = domain.strip().rstrip(".").lower()
    # A bare label ("com", "localhost") is no domain a pass can vouch for.
    if "." not in domain or domain.startswith("."):
        return None
    if domain.isascii():
        return domain
    # The From header keeps an internationalised domain as typed (bücher.de),
    # DKIM's d= and the SMTP envelope carry its A-labels (xn--bcher-kva.de).
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def aligned(from_domain: str, other: str) -> bool:
    """``other`` (a DKIM signer, an envelope domain) vouches for ``from_domain``: same or parent."""
    mine, theirs = _normal(from_domain), _normal(other)
    if mine is None or theirs is None:
        return False
    return mine == theirs or mine.endswith("." + theirs)


def passing_dkim_domains(dkim: str) -> list[str]:
    """The signing domains whose signature passed, in the ``dkim`` field's order."""
    passing: list[str] = []
    for entry in dkim.split(","):
        match = _DKIM_ENTRY.fullmatch(entry.strip())
        if match is not None and match[2].lower() == "pass":
            passing.append(match[1])
    return passing


def sender_authenticated(
    from_address: str, *, dkim: str | None, spf: str | None, envelope_from: str | None
) -> bool | None:
    """Whether the From address is vouched for (see the module docstring).

    ``True``: a DKIM signature passed for an aligned domain, or SPF passed for
    an aligned envelope sender. ``False``: the checks are there and neither
    does. ``None``: neither ``dkim`` nor ``spf`` was posted.
    """
    if dkim is None and spf is None:
        return None
    from_domain = _domain(from_address)
    if from_domain is None:
        return False
    if dkim is not None and any(aligned(from_domain, d) for d in passing_dkim_domains(dkim)):
        return True
    spf_result = (spf or "").split(maxsplit=1)[:1]
    if spf_result and spf_result[0].lower() == "pass":
        envelope_domain = _domain(envelope_from)
        return envelope_domain is not None and aligned(from_domain, envelope_domain)
    return False
