"""Identifiers: opaque record ids and the human reference code of a handoff.

A reference code such as ``K7QP-3M`` is read aloud on the phone and typed from a
screenshot, so it uses Crockford's base32 alphabet (no I, L, O or U) and is short.
"""

from __future__ import annotations

import re
import secrets
import uuid

__all__ = ["CROCKFORD_ALPHABET", "REFERENCE_PATTERN", "new_id", "new_reference"]

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2,}$")


def new_id(prefix: str) -> str:
    """A random, sortable-enough opaque id such as ``ho_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


def new_reference(length: int = 6) -> str:
    """A random reference code: 4 characters, a hyphen, ``length - 4`` more.

    Six characters give 2**30 codes; the store enforces uniqueness per tenant and
    the engine draws again on the rare collision.
    """
    chars = "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(length))
    return f"{chars[:4]}-{chars[4:]}"
