"""Finding phone numbers and email addresses a customer wrote in a public post.

Phones come from phonenumbers' ``PhoneNumberMatcher`` (valid numbers only), emails
from candidate tokens confirmed by email-validator, through the same normalizing
constructors as everywhere else, so an extracted identity equals a typed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from escalate._exceptions import InvalidIdentity, InvalidInput
from escalate._identity import Identity

__all__ = ["ExtractedIdentity", "extract_identities", "find_identities"]

# Only a candidate finder: a run of non-space characters around an "@".
# email-validator decides what is an address; phones never go through a regex.
# Tried only where such a run starts: from inside one, every later start re-read
# the run to its end, and a post of 100,000 letters took 25 s.
_EMAIL_CANDIDATE = re.compile(
    r"(?<![^\s@<>()\[\]{},;:\"'])[^\s@<>()\[\]{},;:\"']+@[^\s@<>()\[\]{},;:\"']+"
)
_MAX_TEXT = 100_000
# phonenumbers' matcher only considers runs of (Unicode) digits: a text without
# one holds no phone number, and most complaints have none. Checked first, it
# spares the matcher's set-up and scan.
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class ExtractedIdentity:
    """An identity found in text, with where it was (``text[start:end]``)."""

    identity: Identity
    start: int
    end: int


def find_identities(text: str, region: str | None = None) -> list[ExtractedIdentity]:
    """Every phone number and email address in ``text``, in order, with positions.

    Args:
        text: free text, e.g. a public post (at most 100,000 characters).
        region: ISO 3166 region to read national numbers in (``"US"``); without
            it only numbers written with ``+`` and a country code are found.

    Raises:
        InvalidInput: ``text`` is not a string or too long, or the region is not a
            known region's code.
    """
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    if len(text) > _MAX_TEXT:
        raise InvalidInput(f"text is longer than {_MAX_TEXT} characters")
    if region is not None:
        if not isinstance(region, str):
            raise InvalidIdentity("phone", f"region must be a str, got {type(region).__name__}")
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidIdentity("phone", f"unknown region {region!r}")
    found = _phones(text, region) if _DIGIT.search(text) else []
    for candidate in _EMAIL_CANDIDATE.finditer(text):
        raw = candidate.group().removeprefix("mailto:")
        stripped = raw.rstrip(".!?")
        try:
            identity = Identity.email(stripped)
        except InvalidIdentity:
            continue
        end = candidate.end() - (len(raw) - len(stripped))
        found.append(ExtractedIdentity(identity, end - len(stripped), end))
    return sorted(found, key=lambda item: item.start)


def _phones(text: str, region: str | None) -> list[ExtractedIdentity]:
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region or "ZZ", leniency=phonenumbers.Leniency.VALID
    )
    found = []
    for match in matcher:
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(ExtractedIdentity(Identity.phone(e164), match.start, match.end))
    return found


def extract_identities(text: str, region: str | None = None) -> list[Identity]:
    """The distinct phone numbers and email addresses in ``text``, in order of appearance.

    ``extract_identities("call me on (415) 555-0100 or jane@example.com", region="US")``
    gives ``[Identity.phone("+14155550100"), Identity.email("jane@example.com")]``.

    Raises:
        InvalidInput: ``text`` is not a string or too long, or the region is unknown.
    """
    return list(dict.fromkeys(item.identity for item in find_identities(text, region)))
