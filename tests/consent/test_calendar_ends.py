"""Quiet hours and consent decisions at the calendar's ends: InvalidInput, not OverflowError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from escalate import Identity, InvalidInput
from escalate.consent import (
    ConsentAction,
    ConsentEvidence,
    ConsentSource,
    Purpose,
    QuietHours,
    decide_from_records,
)
from escalate.consent._making import make_consent_record

FORM = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me about my case", thread_id="t1")

#: A number and an instant whose answer lies past 9999-12-31 or before year 1:
#: London at 22:00 on the last day (the next 08:00 is in year 10000), New York
#: and Sydney an hour into year 1 (their local reading is in year 0), and an
#: evening in New York whose UTC reading is past datetime.max.
EDGES = [
    ("+442079460958", datetime(9999, 12, 31, 22, 0, tzinfo=UTC)),
    ("+12125550100", datetime(1, 1, 1, 1, 0, tzinfo=UTC)),
    ("+61412345678", datetime(1, 1, 1, 1, 0, tzinfo=UTC)),
    ("+12125550100", datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))),
]


@pytest.mark.parametrize(("number", "at"), EDGES)
def test_quiet_hours_at_the_ends_of_the_calendar_is_invalid_input(
    number: str, at: datetime
) -> None:
    """QuietHours.window and a consent decision raise InvalidInput where the calendar ends."""
    phone = Identity.phone(number)
    with pytest.raises(InvalidInput, match="calendar"):
        QuietHours().next_allowed(phone, at)
    grant = make_consent_record(
        tenant="default",
        address=phone,
        purpose=Purpose.TRANSACTIONAL,
        action=ConsentAction.GRANT,
        evidence=FORM,
        at=datetime(1, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(InvalidInput, match="calendar"):
        decide_from_records([grant], Purpose.TRANSACTIONAL, at, address=phone)
