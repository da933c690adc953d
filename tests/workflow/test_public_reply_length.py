"""Every shipped acknowledgement fits X's 280 weighted characters, at its longest.

X counts as twitter-text does: a URL is 23 whatever its length, and a character
outside Latin and a few punctuation ranges (CJK, most emoji) counts 2. The
longest reply is the off-hours one with the DM link, a 15-character handle (X's
maximum) and a return more than a week away, which names its date.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

import pytest

from escalate import Escalator, Identity, Thread, Workflow
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import BusinessHours
from escalate.workflow._default_templates import DEFAULT_TEXTS

#: twitter-text's v3 configuration.
X_LIMIT, X_URL = 280, 23
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://[^\s()]+")


def x_weighted_length(text: str) -> int:
    text = _URL.sub("\0", unicodedata.normalize("NFC", text))
    return sum(
        X_URL if ch == "\0" else 1 if any(a <= ord(ch) <= b for a, b in _LIGHT) else 2
        for ch in text
    )


def test_the_counter_counts_as_x_does() -> None:
    assert x_weighted_length("a" * 280) == 280
    assert x_weighted_length("see https://x.com/" + "a" * 300) == 4 + 23
    assert x_weighted_length("日本") == 4


@pytest.mark.parametrize("locale", sorted(DEFAULT_TEXTS))
@pytest.mark.parametrize("contact_url", [None, "https://acme.example/" + "help/" * 40])
def test_the_longest_acknowledgement_fits_on_x(locale: str, contact_url: str | None) -> None:
    # Posted on a Saturday; closed until Wednesday 30 September ("miércoles 30 de
    # septiembre 09:00 +0530": the longest weekday and month, a 5-letter zone).
    clock = FakeClock(datetime(2026, 9, 19, 12, tzinfo=UTC))
    closed = {date(2026, 9, 21) + timedelta(days=n) for n in range(9)}
    hours = BusinessHours(tz="Asia/Colombo", opens=time(9), closes=time(17), holidays=closed)
    publisher = RecordingPublisher()
    esc = Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(
            brand="A" * 200,  # not in a public reply: a long brand costs it nothing
            locale=locale,
            business_hours=hours,
            x_recipient_id="1234567890123456789",
            contact_url=contact_url,
        ),
    )
    handoff = esc.open(
        Thread(
            platform="x",
            thread_id="1790000000000000001",
            author=Identity.social("x", "42", "a" * 15),
            text="my order never arrived",
            posted_at=clock.now(),
        )
    )
    (reply,) = publisher.replies
    assert handoff.reference in reply.text
    assert "30" in reply.text  # the date is named: the longest "back"
    assert x_weighted_length(reply.text) <= X_LIMIT
