"""A leak detector for personal data: log records, warnings and text, checked for one person.

``capture_pii()`` installs a handler on the root logger at DEBUG (escalate logs
through the stdlib only; it has no structlog dependency) and records warnings;
``leaks(text)`` lists which of the person's spellings a text contains. A phone
number counts as leaked when more than its last four digits show, in any of the
forms people type it; an email when its local part shows (the domain alone is
what the redacted form keeps); a body when any distinctive part of it shows.
"""

from __future__ import annotations

import logging
import re
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = [
    "BODY",
    "EMAIL_RAW",
    "HANDLE",
    "NAME",
    "PHONE_E164",
    "PHONE_FORMS",
    "Captured",
    "capture_pii",
    "leaks",
    "shown",
]

#: One person, in the spellings a caller or a provider would use.
PHONE_FORMS = (
    "+1 415 555 0142",
    "(415) 555-0142",
    "415.555.0142",
    "tel:+1-415-555-0142",
    "+14155550142",
    "4155550142",
)
PHONE_E164 = "+14155550142"
EMAIL_RAW = "Jane.Doe+tag@Example.com"
BODY = "my account 4242-4242, call me back"
HANDLE = "janedoe_sf"
NAME = "Jane Quintessa Doe"

_DIGITS = "4155550142"
# More than the last four digits, however the caller grouped them.
_PHONE_PATTERN = re.compile(
    r"4\D{0,3}1\D{0,3}5\D{0,3}5\D{0,3}5\D{0,3}5\D{0,3}0\D{0,3}1\D{0,3}4\D{0,3}2"
    r"|" + "|".join(re.escape(_DIGITS[i : i + 6]) for i in range(len(_DIGITS) - 5)) + r"|555\D?0142"
)
_NEEDLES = (
    "jane.doe+tag@example.com",
    "jane.doe+tag",
    "jane.doe",
    "doe+tag",
    "4242-4242",
    "42424242",
    "my account",
    "call me back",
    HANDLE,
    NAME.lower(),
    "quintessa",
)


def leaks(text: str) -> list[str]:
    """The person's data that ``text`` shows (case-insensitively), as the needle or pattern hit."""
    lowered = text.lower()
    found = [needle for needle in _NEEDLES if needle in lowered]
    found.extend(match.group() for match in _PHONE_PATTERN.finditer(lowered))
    return found


def shown(error: BaseException) -> str:
    """What ``logger.exception`` would write: str, repr and the whole chained traceback."""
    return f"{error!s}\n{error!r}\n" + "".join(traceback.format_exception(error))


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _record_text(record: logging.LogRecord) -> str:
    """Everything of a record a handler or formatter could write out."""
    parts = [str(record.msg), repr(record.args)]
    try:
        parts.append(record.getMessage())
    except (TypeError, ValueError) as exc:  # a bad format string is a bug, not a leak
        parts.append(f"<unformattable: {exc}>")
    parts.extend(f"{key}={value!r}" for key, value in vars(record).items() if key not in _STANDARD)
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(record.exc_info[1])))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


@dataclass
class Captured:
    """What was logged and warned during a ``capture_pii()`` block."""

    records: list[logging.LogRecord] = field(default_factory=list)
    warned: list[warnings.WarningMessage] = field(default_factory=list)

    def texts(self) -> list[str]:
        return [_record_text(record) for record in self.records] + [
            f"{w.category.__name__}: {w.message}" for w in self.warned
        ]

    def leaked(self) -> list[tuple[str, list[str]]]:
        """Each logged or warned text that shows the person's data, with what it shows."""
        return [(text, found) for text in self.texts() if (found := leaks(text))]


class _Collect(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@contextmanager
def capture_pii() -> Iterator[Captured]:
    """Record every log record (root logger at DEBUG, SDK loggers included) and warning."""
    captured = Captured()
    root = logging.getLogger()
    handler = _Collect(captured.records)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            yield captured
        captured.warned.extend(warned)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
