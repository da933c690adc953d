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
   - a header block: a ``From:`` line followed by a ``Sent:`` or ``Date:`` line,
     or the same in Spanish, French, German, Portuguese, Italian or Dutch
     (``De:`` then ``Enviado:``; ``Von:`` then ``Gesendet:``...).

2. An **attribution** (a line starting ``On`` whose text ends with ``wrote:``
   within three lines, as Gmail wraps it, and names a date: it has a digit; or
   its Spanish, French, German, Portuguese, Italian or Dutch form:
   ``El ... escribió:``, ``Le ... a écrit :``, ``Am ... schrieb ...:``,
   ``Em ... escreveu:``, ``Il ... ha scritto:``, ``Op ... schreef ...:``)
   introduces the earlier message. When
   the next non-blank line is quoted with ``>``, the attribution is dropped and
   step 3 drops the quote, so an answer written below it (bottom-posting) stays;
   otherwise (a client that does not mark the quote) everything from the
   attribution on is cut, as in step 1.

3. Every line starting with ``>`` (after any indentation) is dropped: quoted
   text at any depth, wherever it is, so interleaved answers stay.

Attributions and header blocks in other languages still go by rules 1 and 3
when the quote is marked with ``>``.
This is a rule, not a mail client: it never invents text, only drops lines.
"""

from __future__ import annotations

import re

__all__ = ["strip_quoted"]

_SIGNATURE = frozenset({"--", "-- "})
_OUTLOOK_RULE = re.compile(r"_{8,}|-{2,}\s*original message\s*-{2,}", re.IGNORECASE)
#: Outlook's header block, by the language of the customer's mail client.
_HEADER_FROM = ("from:", "de:", "von:", "da:", "van:")
_HEADER_NEXT = (
    *("sent:", "date:", "enviado:", "fecha:", "envoyé:", "gesendet:", "datum:", "data:"),
    *("inviato:", "verzonden:"),
)
_ATTRIBUTION_LINES = 3  # Gmail wraps "On <date> <name> <address> wrote:" at ~78 chars
#: How Gmail, Apple Mail and Thunderbird introduce a quote, in the languages whose
#: customers most often write to brands we know of: (opening word, ending).
_ATTRIBUTIONS = (
    ("On ", re.compile(r"\bwrote:$")),
    ("El ", re.compile(r"\bescribió:$")),
    ("Le ", re.compile(r"\ba écrit ?:$")),
    ("Am ", re.compile(r"\bschrieb\b.*:$")),
    ("Em ", re.compile(r"\bescreveu:$")),
    ("Il ", re.compile(r"\bha scritto:$")),
    ("Op ", re.compile(r"\bschreef\b.*:$")),
)
_DIGIT = re.compile(r"\d")
#: French puts a space before the colon: ``De :``, ``Envoyé :``. Tried only where a
#: run of spaces starts: from inside one, every later start re-read the run, and a
#: line of 400,000 spaces took minutes.
_SPACE_BEFORE_COLON = re.compile(r"(?<!\s)\s+:")


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _separator(lines: list[str], index: int) -> bool:
    line = lines[index]
    if line in _SIGNATURE or _OUTLOOK_RULE.fullmatch(line.strip()):
        return True
    if _header(line).startswith(_HEADER_FROM) and index + 1 < len(lines):
        return _header(lines[index + 1]).startswith(_HEADER_NEXT)
    return False


def _header(line: str) -> str:
    return _SPACE_BEFORE_COLON.sub(":", line.lstrip().lower(), count=1)


def _attribution(lines: list[str], index: int) -> int:
    """How many lines the attribution starting at ``index`` spans; 0 if none does."""
    first = lines[index].lstrip()
    ending = next((end for start, end in _ATTRIBUTIONS if first.startswith(start)), None)
    if ending is None:
        return 0
    joined = ""
    for offset, line in enumerate(lines[index : index + _ATTRIBUTION_LINES]):
        if offset and (not line.strip() or _quoted(line)):
            return 0  # a blank or quoted line ends the sentence before any "wrote:"
        joined += " " + line.strip()
        # Every ending ends in ":" (and ``.*:$`` re-read the line from each
        # "schrieb" when it did not): the cheap test first.
        if joined.endswith(":") and ending.search(joined):
            # Clients always date the earlier message; "El técnico me escribió:"
            # is the customer's own sentence, and what follows it theirs too.
            return offset + 1 if _DIGIT.search(joined) else 0
    return 0


def _next_text_is_quoted(lines: list[str], start: int) -> bool:
    # By index: a slice copied the rest of the message at every attribution.
    for index in range(start, len(lines)):
        if lines[index].strip():
            return _quoted(lines[index])
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
