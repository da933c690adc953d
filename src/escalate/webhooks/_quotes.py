"""What a customer wrote in an email reply, without the earlier message it quotes.

Keyword detection runs on a reply's text: a STOP inside *our* quoted message
("Reply STOP to opt out") must not revoke anything, and a STOP the customer
wrote must never be lost. ``strip_quoted`` applies one plain rule, line by line,
to the ``text/plain`` part (the rule is what Gmail, Outlook and Apple Mail
write; ``tests/webhooks/test_quotes.py`` holds their real formats):

1. **Cut** at the first separator: everything from it on is the earlier
   message or a signature, never the customer's answer.

   - the signature delimiter ``-- `` (RFC 3676 4.3; also ``--``, as clients
     strip the trailing space);
   - Outlook's rule before the earlier message: a line of eight or more
     underscores, or ``-----Original Message-----``;
   - a header block: a ``From:`` line followed by a ``Sent:`` or ``Date:`` line.

2. An **attribution** (a line starting ``On`` whose text ends with ``wrote:``
   within three lines, as Gmail wraps it) introduces the earlier message. When
   the next non-blank line is quoted with ``>``, the attribution is dropped and
   step 3 drops the quote, so an answer written below it (bottom-posting) stays;
   otherwise (a client that does not mark the quote) everything from the
   attribution on is cut, as in step 1.

3. Every line starting with ``>`` (after any indentation) is dropped: quoted
   text at any depth, wherever it is, so interleaved answers stay.

English attributions only; other languages' quotes still go by rules 1 and 3.
This is a rule, not a mail client: it never invents text, only drops lines.
"""

from __future__ import annotations

import re

__all__ = ["strip_quoted"]

_SIGNATURE = frozenset({"--", "-- "})
_OUTLOOK_RULE = re.compile(r"_{8,}|-{2,}\s*original message\s*-{2,}", re.IGNORECASE)
_HEADER_NEXT = ("sent:", "date:")
_ATTRIBUTION_LINES = 3  # Gmail wraps "On <date> <name> <address> wrote:" at ~78 chars


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _separator(lines: list[str], index: int) -> bool:
    line = lines[index]
    if line in _SIGNATURE or _OUTLOOK_RULE.fullmatch(line.strip()):
        return True
    if line.lstrip().lower().startswith("from:") and index + 1 < len(lines):
        return lines[index + 1].lstrip().lower().startswith(_HEADER_NEXT)
    return False


def _attribution(lines: list[str], index: int) -> int:
    """How many lines the attribution starting at ``index`` spans; 0 if none does."""
    if not lines[index].lstrip().startswith("On ") or _quoted(lines[index]):
        return 0
    joined = ""
    for offset, line in enumerate(lines[index : index + _ATTRIBUTION_LINES]):
        if offset and (not line.strip() or _quoted(line)):
            return 0  # a blank or quoted line ends the sentence before any "wrote:"
        joined += " " + line.strip()
        if joined.endswith("wrote:"):
            return offset + 1
    return 0


def _next_text_is_quoted(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return _quoted(line)
    return False


def strip_quoted(text: str) -> str:
    """The customer's own words of an email reply's plain text (see the module rule).

    Never raises on text; the result is made only of the input's own lines
    (line endings read as ``\\n``), stripped of surrounding blank space.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if _separator(lines, index):
            break
        span = _attribution(lines, index)
        if span:
            if not _next_text_is_quoted(lines, index + span):
                break
            index += span
            continue
        if not _quoted(lines[index]):
            kept.append(lines[index])
        index += 1
    return "\n".join(kept).strip()
