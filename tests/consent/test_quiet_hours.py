"""Quiet hours in the recipient's zone(s): US zones, multi-zone, toll-free, UK, India, DST edges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import timezone as phone_timezone

from escalate import Identity, InvalidInput, NaiveDatetimeError
from escalate.consent import QuietHours, ZoneSource, zones_for_number
from escalate.consent._quiet_hours import _UNLOCATED, _zones_for_e164


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


CASES = [
    # number, asked (UTC), expected first allowed (UTC), why
    ("+12125550100", utc(2026, 1, 5, 12, 30), utc(2026, 1, 5, 13, 0), "NY 07:30 -> 08:00 EST"),
    ("+12125550100", utc(2026, 1, 5, 13, 0), utc(2026, 1, 5, 13, 0), "NY 08:00 is open"),
    ("+12125550100", utc(2026, 1, 6, 2, 0), utc(2026, 1, 6, 13, 0), "NY 21:00 is closed"),
    ("+12125550100", utc(2026, 1, 6, 1, 59), utc(2026, 1, 6, 1, 59), "NY 20:59 is open"),
    ("+13125550100", utc(2026, 1, 5, 13, 30), utc(2026, 1, 5, 14, 0), "Chicago 07:30 CST"),
    ("+13035550100", utc(2026, 7, 6, 13, 0), utc(2026, 7, 6, 14, 0), "Denver 07:00 MDT"),
    ("+16025550100", utc(2026, 7, 6, 14, 30), utc(2026, 7, 6, 15, 0), "Phoenix: no DST"),
    ("+14155550100", utc(2026, 1, 5, 15, 0), utc(2026, 1, 5, 16, 0), "LA 07:00 PST"),
    ("+18085550100", utc(2026, 1, 5, 17, 0), utc(2026, 1, 5, 18, 0), "Honolulu 07:00"),
    # +1 907 spans Anchorage and Adak (an hour behind): 08:00 in Adak opens it.
    ("+19075550100", utc(2026, 1, 5, 16, 0), utc(2026, 1, 5, 18, 0), "907 waits for Adak"),
    # +1 605 spans Mountain and Central: the window that fits both is 09:00-21:00 Central.
    ("+16055550123", utc(2026, 1, 5, 14, 30), utc(2026, 1, 5, 15, 0), "605 08:30 CT waits 09:00"),
    ("+16055550123", utc(2026, 1, 6, 2, 30), utc(2026, 1, 6, 2, 30), "605 20:30 CT is open"),
    ("+16055550123", utc(2026, 1, 6, 3, 0), utc(2026, 1, 6, 15, 0), "605 21:00 CT closes"),
    ("+442079460958", utc(2026, 1, 5, 7, 59), utc(2026, 1, 5, 8, 0), "London GMT"),
    ("+447911123456", utc(2026, 7, 6, 6, 30), utc(2026, 7, 6, 7, 0), "UK mobile in BST"),
    ("+442079460958", utc(2026, 1, 5, 21, 0), utc(2026, 1, 6, 8, 0), "London 21:00 closed"),
    ("+919876543210", utc(2026, 1, 5, 16, 0), utc(2026, 1, 6, 2, 30), "India 21:30 IST"),
    ("+919876543210", utc(2026, 1, 5, 2, 30), utc(2026, 1, 5, 2, 30), "India 08:00 IST"),
    # DST edges
    ("+12125550100", utc(2026, 3, 8, 11, 30), utc(2026, 3, 8, 12, 0), "NY spring-forward day"),
    ("+12125550100", utc(2026, 3, 7, 12, 30), utc(2026, 3, 7, 13, 0), "NY day before, EST"),
    ("+12125550100", utc(2026, 11, 1, 12, 30), utc(2026, 11, 1, 13, 0), "NY fall-back day"),
    ("+12125550100", utc(2026, 11, 2, 1, 30), utc(2026, 11, 2, 1, 30), "NY 20:30 EST after"),
    ("+442079460958", utc(2026, 3, 29, 6, 30), utc(2026, 3, 29, 7, 0), "UK spring-forward day"),
    ("+442079460958", utc(2026, 10, 25, 7, 30), utc(2026, 10, 25, 8, 0), "UK fall-back day"),
]


@pytest.mark.parametrize(("number", "asked", "expected", "why"), CASES)
def test_quiet_hours_table(number: str, asked: datetime, expected: datetime, why: str) -> None:
    """next_allowed gives the asked instant when open, else the window's opening, in UTC."""
    found = QuietHours().next_allowed(Identity.phone(number), asked)
    assert found == expected, why
    assert found.utcoffset() == timedelta(0)


def test_allowed_now_returns_at_itself() -> None:
    """When sending is allowed, next_allowed returns ``at`` itself."""
    at = datetime(2026, 1, 5, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert QuietHours().next_allowed(Identity.phone("+12125550100"), at) is at


def test_multi_zone_number_uses_every_zone() -> None:
    """A number spanning two zones is judged in both, and says so."""
    window = QuietHours().window(Identity.phone("+16055550123"), utc(2026, 1, 5, 14, 30))
    assert window.source is ZoneSource.NUMBER
    assert set(window.zones) == {"America/Denver", "America/North_Dakota/Center"}


def test_toll_free_falls_back_to_tenant_default_zone() -> None:
    """A toll-free number is located nowhere: the tenant's default zone decides, and says so."""
    number = Identity.phone("+18005550100")
    assert zones_for_number(number) == ()
    window = QuietHours().window(number, utc(2026, 1, 5, 12, 0), default_zone="America/Chicago")
    assert window.source is ZoneSource.TENANT_DEFAULT
    assert window.at == utc(2026, 1, 5, 14, 0)


def test_contact_zone_overrides_the_number() -> None:
    """A contact's known zone decides even for a located number."""
    window = QuietHours().window(
        Identity.phone("+14155550100"), utc(2026, 1, 5, 14, 0), known_zone="Europe/Berlin"
    )
    assert window.source is ZoneSource.CONTACT
    assert window.at == utc(2026, 1, 5, 14, 0)


def test_no_common_window_falls_back() -> None:
    """Zones with no common window fall back to the tenant default, and the answer says so."""
    hours = QuietHours(time(10), time(12))
    window = hours.window(
        Identity.phone("+61412345678"), utc(2026, 1, 5, 0, 0), default_zone="Australia/Sydney"
    )
    assert window.source is ZoneSource.TENANT_DEFAULT


def test_window_wrapping_midnight() -> None:
    """A window such as 22:00-06:00 is allowed and respected."""
    hours = QuietHours(time(22), time(6))
    number = Identity.phone("+442079460958")
    assert hours.next_allowed(number, utc(2026, 1, 5, 23, 0)) == utc(2026, 1, 5, 23, 0)
    assert hours.next_allowed(number, utc(2026, 1, 5, 12, 0)) == utc(2026, 1, 5, 22, 0)


def test_email_uses_the_default_zone() -> None:
    """An email address has no zone of its own: the tenant default decides."""
    window = QuietHours().window(Identity.email("a@example.com"), utc(2026, 1, 5, 3, 0))
    assert window.source is ZoneSource.TENANT_DEFAULT
    assert window.at == utc(2026, 1, 5, 8, 0)


def test_naive_datetime_is_refused() -> None:
    """A naive datetime raises NaiveDatetimeError, which is also a ValueError."""
    with pytest.raises(NaiveDatetimeError):
        QuietHours().next_allowed(Identity.phone("+12125550100"), datetime(2026, 1, 5, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        QuietHours().next_allowed(Identity.phone("+12125550100"), datetime(2026, 1, 5, 12))


@pytest.mark.parametrize(
    "kwargs",
    [{"start": time(8), "end": time(8)}, {"start": "08:00"}, {"end": time(21, tzinfo=UTC)}],
)
def test_bad_windows_are_refused(kwargs: dict[str, object]) -> None:
    """An empty window, a non-time or a zoned time raises InvalidInput."""
    with pytest.raises(InvalidInput):
        QuietHours(**kwargs)  # type: ignore[arg-type]


def test_unknown_zone_and_non_identity_are_refused() -> None:
    """An unknown zone name or a non-Identity address raises InvalidInput."""
    with pytest.raises(InvalidInput, match="time zone"):
        QuietHours().window(Identity.phone("+12125550100"), utc(2026, 1, 5), known_zone="Mars/Base")
    with pytest.raises(InvalidInput):
        QuietHours().next_allowed("+12125550100", utc(2026, 1, 5))  # type: ignore[arg-type]


NUMBERS = ["+12125550100", "+14155550100", "+16055550123", "+442079460958", "+919876543210",
           "+61412345678", "+18005550100", "+79161234567"]  # fmt: skip


@given(
    st.sampled_from(NUMBERS),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
    st.integers(min_value=-12, max_value=14),
)
def test_next_allowed_is_the_earliest_allowed_instant(
    number: str, naive: datetime, offset: int
) -> None:
    """The answer is never earlier than asked, lies in the window, and no earlier minute does."""
    hours = QuietHours()
    identity = Identity.phone(number)
    at = naive.replace(tzinfo=timezone(timedelta(hours=offset)))
    window = hours.window(identity, at)
    assert window.at >= at
    zones = [ZoneInfo(zone) for zone in window.zones]
    assert all(hours.allows_local(window.at.astimezone(z).time()) for z in zones)
    if window.at > at:
        before = window.at - timedelta(minutes=1)
        assert before < at or not all(
            hours.allows_local(before.astimezone(z).time()) for z in zones
        )


def test_number_zones_agree_with_phonenumbers_for_every_region_and_type() -> None:
    """The zones of every region's example numbers, of each type, are phonenumbers' own."""
    checked = 0
    for region in phonenumbers.SUPPORTED_REGIONS:
        for number_type in range(phonenumbers.PhoneNumberType.UNKNOWN):
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            parsed = phonenumbers.parse(e164)
            expected = (
                ()
                if phonenumbers.number_type(parsed) in _UNLOCATED
                else tuple(
                    zone
                    for zone in phone_timezone.time_zones_for_number(parsed)
                    if zone != "Etc/Unknown"
                )
            )
            assert _zones_for_e164(e164) == expected, e164
            checked += 1
    assert checked > 1000
