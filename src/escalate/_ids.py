"""Identifiers: opaque record ids and the human reference code of a handoff.

A reference code such as ``K7QP-3M`` is read aloud on the phone and typed from a
screenshot, so it uses Crockford's base32 alphabet (no I, L, O or U) and is short.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import unicodedata

__all__ = [
    "CROCKFORD_ALPHABET",
    "DASHES",
    "REFERENCE_PATTERN",
    "new_id",
    "new_reference",
    "normalize_reference",
]

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{2,}$")


def new_id(prefix: str) -> str:
    """An opaque, unique id such as ``ho_019ad8c2f3b4...``: 32 hex digits after the prefix.

    Built like a UUIDv7 (RFC 9562), without the version bits: 48 bits of Unix time in
    milliseconds, then 80 bits, random for a process's first id in a millisecond
    and counted on from it for the next ones (the RFC's monotonic method), so
    one process's ids always increase. Ids made close in time sort close
    together, so a new row lands on the same few index pages as the rows before
    it instead of on a random page of every index its id is in: far fewer
    pages to write per commit, and to read back, as tables grow. And rows made
    together (a transition's messages, in command order) sort in the order they
    were made, which is the claim order of rows due at the same instant. The
    time is the process's wall clock, not the injected ``Clock``; never read
    more meaning into an id.
    """
    millis = time.time_ns() // 1_000_000
    last = _last_id
    with last.lock:
        if millis <= last.millis:
            # The same millisecond (or the clock stepped back): count on.
            millis, bits = last.millis, last.bits + 1
            if bits >> 80:  # 2**80 ids in one millisecond: take the next one
                millis, bits = millis + 1, int.from_bytes(os.urandom(10))
        else:
            bits = int.from_bytes(os.urandom(10))
        last.millis, last.bits = millis, bits
    return f"{prefix}_{millis:012x}{bits:020x}"


class _LastId:
    """The last id's millisecond and 80 bits, under the lock that orders ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.millis = 0
        self.bits = 0

    def forget(self) -> None:
        """After a fork, in the child: start afresh."""
        # It must not count on from its parent's last id (both would make the
        # next one), nor inherit the lock as some parent thread left it.
        self.lock = threading.Lock()
        self.millis = 0
        self.bits = 0


_last_id = _LastId()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_last_id.forget)


def new_reference(length: int = 6) -> str:
    """A random reference code: 4 characters, a hyphen, ``length - 4`` more.

    Six characters give 2**30 codes; the store enforces uniqueness per tenant and
    the engine draws again on the rare collision.
    """
    # 32 characters, 5 bits each: one draw of random bits, not one per character.
    bits = secrets.randbits(5 * length)
    chars = "".join(CROCKFORD_ALPHABET[(bits >> (5 * i)) & 31] for i in range(length))
    return f"{chars[:4]}-{chars[4:]}"


# Crockford's decoding: what a person may read or type for each code character.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})

#: What may stand for the code's hyphen: phones' autocorrect turns it into a dash,
#: and a code copied from a web page or a PDF brings a non-breaking hyphen or a
#: minus sign. Full-width forms (a CJK keyboard) are folded to ASCII by NFKC first.
DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_NO_DASHES = str.maketrans(dict.fromkeys(DASHES, None))


def normalize_reference(text: str) -> str | None:
    """The reference code a person typed (``k7qp 3m``, ``K7QP3M``, ``k7qp-3m``), or ``None``.

    Case, spaces and hyphens (or any dash, ``DASHES``) are ignored, full-width
    characters read as their ASCII forms, and I, L and O read as 1, 1 and 0, as
    Crockford's base32 prescribes, so a code read aloud or copied by hand still
    finds its handoff.
    """
    if not isinstance(text, str):
        return None
    folded = unicodedata.normalize("NFKC", text)
    chars = "".join(folded.split()).translate(_NO_DASHES).upper().translate(_READ_AS)
    code = f"{chars[:4]}-{chars[4:]}"
    return code if REFERENCE_PATTERN.match(code) else None
