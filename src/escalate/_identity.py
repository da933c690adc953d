"""``Identity``: one normalized address of a person (phone, email or social account).

Normalization is the only way in: ``Identity.phone`` gives E.164 through
phonenumbers, ``Identity.email`` a lowercase address through email-validator,
``Identity.social`` a platform plus the platform's stable user id. Two spellings
of one address are one ``Identity``; anything that cannot be normalized raises
``InvalidIdentity`` and nothing else.
"""

from __future__ import annotations

import re
from typing import Self

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import ConfigDict, model_validator

from escalate._enum import StrEnum
from escalate._exceptions import InvalidIdentity, InvalidInput
from escalate._model import Model
from escalate._phone import NumberFacts, remember_number
from escalate._redact import redact_address

__all__ = ["PLATFORMS", "Identity", "IdentityKind", "address_as_typed"]


class IdentityKind(StrEnum):
    """What an identity addresses."""

    PHONE = "phone"
    EMAIL = "email"
    SOCIAL = "social"


#: Known social platforms, by canonical name, with the aliases people type.
PLATFORMS: dict[str, str] = {
    "x": "x",
    "twitter": "x",
    "facebook": "facebook",
    "fb": "facebook",
    "messenger": "facebook",
    "instagram": "instagram",
    "ig": "instagram",
}

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# X, Facebook (PSID/ASID) and Instagram (IGSID) user ids are all decimal strings;
# insisting on digits catches the common mistake of passing a handle as the id.
_SOCIAL_USER_ID = re.compile(r"[0-9]{1,32}")
# Patterns are used with fullmatch: "$" would also accept a trailing newline.
_HANDLE = re.compile(r"[\w.\-]{1,100}")


class Identity(Model):
    """One address of a person. Frozen, hashable, equal by ``(kind, value)``.

    Build it with ``Identity.phone``, ``Identity.email`` or ``Identity.social``;
    ``value`` is the normalized string (``+14155550100``, ``jane@example.com``,
    ``x:1234567``). A social identity's ``handle`` is display only: a renamed
    account is still the same identity.

    ``repr()`` and ``str()`` are redacted; read ``.value`` when you need the address.
    """

    model_config = ConfigDict(frozen=True)

    kind: IdentityKind
    value: str
    handle: str | None = None

    @model_validator(mode="after")
    def _check_normalized(self) -> Self:
        # A cheap structural check so that a hand-built or deserialized Identity
        # cannot smuggle in an unnormalized address; full parsing is in the
        # constructors.
        kind = self.kind
        if kind is IdentityKind.PHONE and not _E164.fullmatch(self.value):
            raise InvalidIdentity(kind.value, "value must be E.164")
        if kind is IdentityKind.EMAIL and (
            "@" not in self.value or self.value != self.value.lower().strip()
        ):
            raise InvalidIdentity(kind.value, "value must be a normalized address")
        if kind is IdentityKind.SOCIAL:
            platform, _, user_id = self.value.partition(":")
            if PLATFORMS.get(platform) != platform or not _SOCIAL_USER_ID.fullmatch(user_id):
                raise InvalidIdentity(kind.value, "value must be '<platform>:<numeric user id>'")
            if self.handle is not None and not _HANDLE.fullmatch(self.handle):
                raise InvalidIdentity(kind.value, "handle has characters no platform allows")
        elif self.handle is not None:
            raise InvalidIdentity(kind.value, "only social identities have a handle")
        return self

    @classmethod
    def _input_error(cls, problems: str) -> InvalidIdentity:
        return InvalidIdentity("unknown", problems)

    # -- constructors ---------------------------------------------------------

    @classmethod
    def phone(cls, raw: str, region: str | None = None) -> Identity:
        """Normalize a phone number to E.164.

        Args:
            raw: the number as typed: ``"(415) 555-0100"``, ``"+44 20 7946 0958"``,
                ``"tel:+1-415-555-0100"``.
            region: ISO 3166 region to read a national number in (``"US"``); not
                needed when ``raw`` starts with ``+``.

        Raises:
            InvalidIdentity: not a string, unknown region, or not a valid number.
        """
        if not isinstance(raw, str):
            raise InvalidIdentity("phone", f"expected str, got {type(raw).__name__}")
        if region is not None:
            if not isinstance(region, str):
                raise InvalidIdentity("phone", f"region must be a str, got {type(region).__name__}")
            region = region.upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise InvalidIdentity("phone", f"unknown region {region!r}")
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            reason = {
                phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                    "no or unknown country code (pass region= for a national number)"
                ),
                phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
                phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
                phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
                phonenumbers.NumberParseException.TOO_LONG: "too long",
            }.get(exc.error_type, "cannot be parsed")
            raise InvalidIdentity("phone", reason) from None
        # is_valid_number is number_type(...) != UNKNOWN, and the type is what the
        # quiet-hours zone lookup needs next: worked out once, kept by E.164.
        number_type = phonenumbers.number_type(parsed)
        if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
            raise InvalidIdentity("phone", "not a valid number for its region")
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        remember_number(e164, NumberFacts(parsed, number_type))
        return cls(kind=IdentityKind.PHONE, value=e164)

    @classmethod
    def email(cls, raw: str) -> Identity:
        """Normalize an email address (syntax only; no DNS lookup), trimmed and lowercased.

        Raises:
            InvalidIdentity: not a string or not a syntactically valid address.
        """
        if not isinstance(raw, str):
            raise InvalidIdentity("email", f"expected str, got {type(raw).__name__}")
        # Forms and pasted text bring padding; phones and social ids tolerate it too.
        raw = raw.strip()
        try:
            # Lowercasing can change a Unicode address (e.g. dotted I), so the
            # lowercased form is validated again: the result is a fixed point.
            first = validate_email(raw, check_deliverability=False).normalized.lower()
            value = validate_email(first, check_deliverability=False).normalized.lower()
        except EmailNotValidError as exc:
            raise InvalidIdentity("email", str(exc).replace(raw, "<address>")) from None
        if value != first:
            raise InvalidIdentity("email", "address does not normalize to a stable form")
        return cls(kind=IdentityKind.EMAIL, value=value)

    @classmethod
    def social(cls, platform: str, user_id: str, handle: str | None = None) -> Identity:
        """A social account, keyed by the platform's stable numeric user id.

        Args:
            platform: ``"x"`` (or ``"twitter"``), ``"facebook"``, ``"instagram"``.
            user_id: the platform's immutable user id (digits), not the handle.
            handle: the current display handle, with or without ``@``.

        Raises:
            InvalidIdentity: unknown platform, empty or non-numeric user id, bad handle.
        """
        if not isinstance(platform, str) or not isinstance(user_id, str):
            raise InvalidIdentity("social", "platform and user_id must be strings")
        canonical = PLATFORMS.get(platform.strip().lower())
        if canonical is None:
            known = ", ".join(sorted(set(PLATFORMS.values())))
            raise InvalidIdentity("social", f"unknown platform {platform!r} (known: {known})")
        user_id = user_id.strip()
        if not user_id:
            raise InvalidIdentity("social", "empty user id")
        if not _SOCIAL_USER_ID.fullmatch(user_id):
            raise InvalidIdentity(
                "social", "user id must be the platform's numeric id, not a handle"
            )
        if handle is not None:
            if not isinstance(handle, str):
                raise InvalidIdentity("social", "handle must be a string")
            handle = handle.strip().removeprefix("@")
            if not _HANDLE.fullmatch(handle):
                raise InvalidIdentity("social", "handle has characters no platform allows")
        return cls(kind=IdentityKind.SOCIAL, value=f"{canonical}:{user_id}", handle=handle)

    # -- accessors ------------------------------------------------------------

    @property
    def platform(self) -> str | None:
        """The social platform, or ``None`` for a phone or email."""
        return self.value.partition(":")[0] if self.kind is IdentityKind.SOCIAL else None

    @property
    def user_id(self) -> str | None:
        """The platform's user id, or ``None`` for a phone or email."""
        return self.value.partition(":")[2] if self.kind is IdentityKind.SOCIAL else None

    @property
    def key(self) -> tuple[str, str]:
        """``(kind, value)``: what identifies this address, without the display handle."""
        return (self.kind.value, self.value)

    def with_handle(self, handle: str | None) -> Identity:
        """The same social identity with a new display handle."""
        if self.kind is not IdentityKind.SOCIAL:
            raise InvalidIdentity(self.kind.value, "only social identities have a handle")
        platform, _, user_id = self.value.partition(":")
        return Identity.social(platform, user_id, handle)

    # -- value semantics ------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Identity):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Identity.{self.kind.value}({redact_address(self.kind.value, self.value)!r})"

    def __str__(self) -> str:
        return f"{self.kind.value}:{redact_address(self.kind.value, self.value)}"


def address_as_typed(address: str | Identity, region: str | None = None) -> Identity:
    """``address`` as an ``Identity``: an email if it has an ``@``, else a phone number.

    For the test kit's filters, which take an address the way a customer types
    it (``"(415) 555-0142"``, ``"Jane@Example.com"``) and compare normalized values.

    Raises:
        InvalidIdentity: the text does not normalize.
        InvalidInput: neither text nor an ``Identity``.
    """
    if isinstance(address, Identity):
        return address
    if not isinstance(address, str):
        raise InvalidInput(f"an address is text or an Identity, not {type(address).__name__}")
    return Identity.email(address) if "@" in address else Identity.phone(address, region=region)
