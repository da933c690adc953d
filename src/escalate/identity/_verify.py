"""Verification of an address: one-time codes and signed confirm links.

Codes are random digits from ``secrets``, stored only as a salted PBKDF2 hash,
compared with ``hmac.compare_digest``, single use, with an expiry, a cap on wrong
attempts per code and a cap on codes per address per window. A confirm link
carries the challenge id and an HMAC-SHA256 over it, keyed with the book's secret.

escalate does not send the code itself: the caller gets it once, in the returned
``VerificationChallenge``, and delivers it on its own channel. The outbox is not
used on purpose: an outbox row stores the message body, and the code must never
be stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from escalate._exceptions import InvalidInput

__all__ = ["VerificationPolicy", "code_hash", "codes_match", "new_code", "sign", "signature_ok"]

# Enough to make an offline guess of a stolen hash cost ~1e6 * this many HMACs,
# cheap enough that a confirm stays in the low milliseconds.
_PBKDF2_ROUNDS = 20_000


@dataclass(frozen=True)
class VerificationPolicy:
    """How codes are made and limited.

    Attributes:
        code_length: digits in a code (6 gives one in a million per guess).
        ttl: how long a code or link stays valid.
        max_attempts: wrong codes accepted before the challenge is dead.
        max_per_window: codes an address may receive per ``window``.
        window: the rate-limit window.
    """

    code_length: int = 6
    ttl: timedelta = timedelta(minutes=10)
    max_attempts: int = 5
    max_per_window: int = 5
    window: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not 4 <= self.code_length <= 12:
            raise InvalidInput("code_length must be between 4 and 12")
        if self.ttl <= timedelta(0) or self.window <= timedelta(0):
            raise InvalidInput("ttl and window must be positive")
        if self.max_attempts < 1 or self.max_per_window < 1:
            raise InvalidInput("max_attempts and max_per_window must be at least 1")


def new_code(length: int) -> str:
    """A random decimal code of ``length`` digits (leading zeros kept)."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def code_hash(code: str, salt: str) -> str:
    """The stored form of a code: PBKDF2-HMAC-SHA256 with a per-challenge salt, hex."""
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt), _PBKDF2_ROUNDS)
    return digest.hex()


def codes_match(code: str, salt: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented code with the stored hash."""
    return hmac.compare_digest(code_hash(code, salt), stored_hash)


def sign(secret: bytes, tenant: str, challenge_id: str, stored_hash: str) -> str:
    """The confirm-link token: ``<challenge id>.<base64url HMAC-SHA256>``.

    The MAC covers the tenant and the code hash too, so a token works for one
    tenant's one challenge only.
    """
    message = f"{tenant}\x00{challenge_id}\x00{stored_hash}".encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    return f"{challenge_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def signature_ok(secret: bytes, tenant: str, token: str, stored_hash: str) -> bool:
    """True when ``token`` is the one ``sign`` made for this challenge (constant time)."""
    challenge_id = token.partition(".")[0]
    return hmac.compare_digest(sign(secret, tenant, challenge_id, stored_hash), token)
