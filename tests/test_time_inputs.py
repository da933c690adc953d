"""Wall-clock helpers refuse what is no aware datetime with a typed error, not AttributeError."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from escalate import BusinessHours, Identity, InvalidInput
from escalate.consent import Purpose, QuietHours, decide_from_records

PHONE = Identity.phone("+12125550100")
HOURS = BusinessHours("America/New_York")
#: A date string, a date, no value and a number: none is an instant.
NOT_INSTANTS: list[object] = ["2026-01-05T10:00:00Z", date(2026, 1, 5), None, 5]
ASKS: dict[str, Callable[[object], object]] = {
    "is_open": HOURS.is_open,  # type: ignore[dict-item]
    "next_open": HOURS.next_open,  # type: ignore[dict-item]
    "describe_return": HOURS.describe_return,  # type: ignore[dict-item]
    "QuietHours.window": lambda at: QuietHours().window(PHONE, at),  # type: ignore[arg-type]
    "next_allowed": lambda at: QuietHours().next_allowed(PHONE, at),  # type: ignore[arg-type]
    "decide_from_records": lambda at: decide_from_records(
        [],
        Purpose.TRANSACTIONAL,
        at,  # type: ignore[arg-type]
        address=PHONE,
    ),
}


@pytest.mark.parametrize("ask", sorted(ASKS))
@pytest.mark.parametrize("at", NOT_INSTANTS)
def test_a_non_datetime_instant_is_invalid_input(ask: str, at: object) -> None:
    """BusinessHours, QuietHours and decide_from_records say what ``at`` must be."""
    with pytest.raises(InvalidInput, match="timezone-aware datetime"):
        ASKS[ask](at)


@pytest.mark.parametrize(
    "kwargs",
    [{"days": 5}, {"days": None}, {"days": [[0]]}, {"holidays": 5}, {"holidays": [[1]]}],
)
def test_days_or_holidays_that_are_no_collection_are_invalid_input(
    kwargs: dict[str, object],
) -> None:
    """A number, None or unhashable items for days or holidays: InvalidInput, not TypeError."""
    with pytest.raises(InvalidInput):
        BusinessHours("America/New_York", **kwargs)  # type: ignore[arg-type]


def test_a_locale_that_is_no_text_gets_english() -> None:
    """describe_return's locale, like any locale it lacks, falls back to English."""
    friday_night = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
    assert HOURS.describe_return(friday_night, None) == "Monday 09:00 EST"  # type: ignore[arg-type]
