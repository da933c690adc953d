"""Business hours, SMS segment counting, invitation links and the template report."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import BusinessHours, Identity, InvalidInput, Thread, Workflow
from escalate.sms import segments as sms_segments
from escalate.workflow import (
    META_PRIVATE_REPLY_WINDOW,
    consent_page_link,
    meta_private_reply_allowed,
    x_dm_link,
)

NY = BusinessHours("America/New_York", holidays={date(2026, 12, 25)})
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@given(at=instants)
def test_next_open_is_open_not_before_and_nothing_open_in_between(at: datetime) -> None:
    """next_open is an open instant at or after ``at``, and the team is out until then."""
    opening = NY.next_open(at)
    assert opening >= at
    assert NY.is_open(opening)
    if opening > at:
        assert not NY.is_open(opening - timedelta(seconds=1))
        assert opening - at < timedelta(days=5)


def test_next_open_skips_weekends_holidays_and_follows_dst() -> None:
    """Christmas Friday -> Monday 09:00 EST; after the March DST change it is 09:00 EDT."""
    assert NY.next_open(datetime(2026, 12, 24, 23, 0, tzinfo=UTC)) == datetime(
        2026, 12, 28, 14, 0, tzinfo=UTC
    )
    assert NY.next_open(datetime(2026, 3, 7, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 9, 13, 0, tzinfo=UTC
    )
    assert NY.describe_return(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), "es") == "lunes 09:00 EDT"


def test_a_return_a_week_or_more_away_names_its_date() -> None:
    """After a two-week closure, "Monday" alone would be read as the coming one."""
    closed = BusinessHours(
        "America/New_York",
        holidays=[date(2025, 12, 22) + timedelta(days=n) for n in range(12)],
    )
    friday_night = datetime(2025, 12, 19, 23, 0, tzinfo=UTC)
    assert closed.describe_return(friday_night) == "Monday 5 January 09:00 EST"
    assert closed.describe_return(friday_night, "es-MX") == "lunes 5 de enero 09:00 EST"
    assert closed.describe_return(datetime(2026, 1, 2, 23, 0, tzinfo=UTC)) == "Monday 09:00 EST"


@pytest.mark.parametrize(
    "holidays", [[datetime(2026, 7, 3, tzinfo=UTC)], ["2026-07-03"], [datetime(2026, 7, 3)]]
)
def test_holidays_must_be_dates(holidays: list[object]) -> None:
    """A datetime or text never equals a date: that holiday would be a working day."""
    with pytest.raises(InvalidInput, match="holidays must be"):
        BusinessHours("America/New_York", holidays=holidays)  # type: ignore[arg-type]


def test_business_hours_refuse_bad_input() -> None:
    """Unknown zones, bad weekdays and naive datetimes are typed errors."""
    with pytest.raises(InvalidInput):
        BusinessHours("Mars/Olympus")
    with pytest.raises(InvalidInput):
        BusinessHours("UTC", days=[7])
    with pytest.raises(InvalidInput):
        NY.is_open(datetime(2026, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2),
        ("ú" * 70, "UCS-2", 1),
        ("ú" * 71, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),  # a surrogate pair is two UTF-16 units
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_sms_segments_at_the_boundaries(text: str, encoding: str, segments: int) -> None:
    """GSM-7 160/153 septets, UCS-2 70/67 UTF-16 units, extension chars count double."""
    cost = sms_segments(text)
    assert (cost.encoding, cost.segments) == (encoding, segments)


@given(st.text(max_size=600))
def test_segment_count_covers_the_text(text: str) -> None:
    """Segments are enough to carry the units, and one fewer would not be."""
    cost = sms_segments(text)
    per = (153 if cost.encoding == "GSM-7" else 67) if cost.segments > 1 else None
    if per is not None:
        assert (cost.segments - 1) * per < cost.units <= cost.segments * per


def test_x_dm_link_is_the_compose_url_with_prefilled_text() -> None:
    """The DM link names the brand's id and round-trips the text."""
    link = x_dm_link("783214", "Case K7QP-3M: reach me at & more")
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://x.com/messages/compose"
    assert parse_qs(parts.query) == {
        "recipient_id": ["783214"],
        "text": ["Case K7QP-3M: reach me at & more"],
    }
    with pytest.raises(ValueError, match="numeric"):
        x_dm_link("@acme", "hi")


def test_meta_private_reply_window_is_seven_days_and_meta_only() -> None:
    """Facebook/Instagram comments up to 7 days old qualify; X never does."""
    now = datetime(2026, 3, 10, tzinfo=UTC)

    def thread(platform: str, age: timedelta) -> Thread:
        return Thread(
            platform=platform,
            thread_id="1",
            author=Identity.social(platform, "5"),
            text="t",
            posted_at=now - age,
        )

    assert meta_private_reply_allowed(thread("instagram", META_PRIVATE_REPLY_WINDOW), now)
    assert not meta_private_reply_allowed(thread("facebook", timedelta(days=7, seconds=1)), now)
    assert not meta_private_reply_allowed(thread("x", timedelta(0)), now)
    fresh = thread("facebook", timedelta(hours=1))
    assert not meta_private_reply_allowed(fresh, now, earlier_handoffs=1)


def test_consent_page_link_replaces_a_ref_already_there() -> None:
    link = consent_page_link("https://a.example/c?ref=OLD&lang=es", "K7QP-3M")
    assert parse_qs(urlsplit(link).query) == {"ref": ["K7QP-3M"], "lang": ["es"]}


@pytest.mark.parametrize("query", ["utm=x%20y", "embed", "sig=a%2Bb", "a=1;b=2"])
def test_consent_page_link_keeps_other_parameters_as_written(query: str) -> None:
    """A signed URL's encoding, a bare flag, a ';' separator: untouched, byte for byte."""
    link = consent_page_link(f"https://a.example/c?{query}&ref=OLD", "K7QP-3M")
    assert link == f"https://a.example/c?{query}&ref=K7QP-3M"


def test_consent_page_link_keeps_existing_query() -> None:
    """The reference is appended as ref= to any existing query."""
    assert consent_page_link("https://a.example/c?lang=es", "K7QP-3M") == (
        "https://a.example/c?lang=es&ref=K7QP-3M"
    )


def test_default_sms_report_shows_every_locale_and_the_costly_ones() -> None:
    """The report lists each SMS template per locale; accented Spanish costs 2 UCS-2 segments."""
    report = {(c.name, c.locale): c.cost for c in Workflow.default(brand="Acme").sms_report()}
    assert set(report) == {
        (name, locale)
        for name in ("agent.sms", "intro.sms", "opt_in.sms", "reminder.sms")
        for locale in ("en", "es")
    }
    assert all(
        c.encoding == "GSM-7" and c.segments == 1 for (_, loc), c in report.items() if loc == "en"
    )
    assert (report[("intro.sms", "es")].encoding, report[("intro.sms", "es")].segments) == (
        "UCS-2",
        2,
    )
