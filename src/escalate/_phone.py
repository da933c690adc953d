"""What phonenumbers says about a number, worked out once per number.

``Identity.phone`` parses a number and learns its type (mobile, fixed line,
toll-free...) to validate it; the quiet-hours zone lookup needs the same parse
and the same type, which is most of what it costs. The facts of the numbers seen
last are kept here, by E.164, so the second asker reuses the first one's work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

import phonenumbers

__all__ = ["NumberFacts", "number_facts", "remember_number"]

#: Numbers whose facts are kept: a busy worker's working set, a few hundred kB.
_KEEP = 4096


class NumberFacts(NamedTuple):
    """A parsed E.164 number and its ``phonenumbers.PhoneNumberType``.

    Shared by every asker: ``parsed`` (a mutable ``PhoneNumber``) is read, never
    changed.
    """

    parsed: phonenumbers.PhoneNumber
    number_type: int


_recent: OrderedDict[str, NumberFacts] = OrderedDict()
_lock = threading.Lock()


def remember_number(e164: str, facts: NumberFacts) -> None:
    """Keep ``facts`` for ``e164`` (the least recently used number goes past ``_KEEP``)."""
    with _lock:
        _recent[e164] = facts
        _recent.move_to_end(e164)
        if len(_recent) > _KEEP:
            _recent.popitem(last=False)


def number_facts(e164: str) -> NumberFacts:
    """The facts of a valid E.164 number: kept ones, else parsed now (and kept)."""
    with _lock:
        facts = _recent.get(e164)
        if facts is not None:
            _recent.move_to_end(e164)
            return facts
    parsed = phonenumbers.parse(e164)
    facts = NumberFacts(parsed, phonenumbers.number_type(parsed))
    remember_number(e164, facts)
    return facts
