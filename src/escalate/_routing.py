"""Which of a contact's open handoffs an inbound message is tried on first.

A customer with two open cases who texts "re case k7qp 3m: still broken" means
that case, whichever is newest. So a handoff whose reference code the text names
goes first, then the rest newest first. Only the sender's own open handoffs are
candidates, and then another contact's open cases that write to the sender's very
address (a number two people gave: it could not be linked to the second one's
contact): naming someone else's code routes nothing to it. The signed reply-to
address of an email outranks all of this (``Escalator._route_inbound``).

A code is recognised as people type it, by ``normalize_reference``: any case,
with or without the hyphen (or a dash autocorrect put there) or spaces, full-width
or not, I and L read as 1 and O as 0. It must
stand on its own: letters or digits glued to either end make it another word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from escalate._ids import DASHES, normalize_reference
from escalate._models import Handoff

__all__ = ["named_reference", "routing_order"]

# A run of letters and digits (any script): the pieces a typed code is split into.
_WORD = re.compile(r"[^\W_]+")


def named_reference(text: str, references: Iterable[str]) -> str | None:
    """The first of ``references`` that ``text`` names, as written there, or ``None``.

    A code may be typed in pieces (``K7QP 3M``, ``k7qp-3m``): runs of letters
    and digits joined only by spaces and hyphens are read together, at most as
    many characters as the longest code has.
    """
    wanted = {code: ref for ref in references if (code := normalize_reference(ref))}
    if not wanted or not isinstance(text, str):
        return None
    longest = max(len(code) - 1 for code in wanted)  # without the hyphen
    words = list(_WORD.finditer(text))
    for start in range(len(words)):
        typed = ""
        for index in range(start, len(words)):
            if index > start and _separated(text, words[index - 1], words[index]):
                break
            typed += words[index].group()
            if len(typed) > longest:
                break
            if found := wanted.get(normalize_reference(typed) or ""):
                return found
    return None


def _separated(text: str, before: re.Match[str], after: re.Match[str]) -> bool:
    """Whether something other than spaces and hyphens (or dashes) stands between two words."""
    gap = text[before.end() : after.start()]
    return any(not char.isspace() and char not in DASHES for char in gap)


def routing_order(
    text: str, open_handoffs: Sequence[Handoff], others: Sequence[Handoff] = ()
) -> list[Handoff]:
    """``open_handoffs`` (oldest first, as the store reads them) in the order to try.

    The one ``text`` names first, then newest first. ``others`` (oldest first
    too) are another contact's open cases that text the sender's address (a
    number two people gave): they come after the sender's own, unless named.
    """
    newest_first = [*reversed(open_handoffs), *reversed(others)]
    if len(newest_first) < 2:  # one candidate: nothing to order, no text to scan
        return newest_first
    named = named_reference(text, (h.reference for h in newest_first))
    # sorted() is stable: the named one moves to the front, the rest keep their order.
    return sorted(newest_first, key=lambda handoff: handoff.reference != named)
