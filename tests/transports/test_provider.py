"""The shared adapter helpers: Retry-After parsing and the error-table lookup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import example, given
from hypothesis import strategies as st

from escalate import (
    InvalidRecipient,
    PermanentTransportError,
    RetryableTransportError,
    UnknownOutcomeError,
)
from escalate.transports._provider import error_for, http_keys, retry_after_seconds

NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_seconds_is_read_as_given(seconds: int) -> None:
    """A delta-seconds Retry-After is returned as it is, whatever the header's case."""
    assert retry_after_seconds({"retry-after": str(seconds)}, NOW) == seconds
    assert retry_after_seconds({"Retry-After": f" {seconds} "}, NOW) == seconds


@given(st.integers(min_value=0, max_value=86_400))
def test_retry_after_http_date_is_relative_to_the_clock(seconds: int) -> None:
    """An HTTP-date Retry-After becomes seconds from the injected clock's now."""
    header = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert retry_after_seconds({"Retry-After": header}, NOW) == seconds


@given(st.integers(min_value=-3600, max_value=3600))
def test_rate_limit_reset_is_an_epoch_second(offset: int) -> None:
    """X-RateLimit-Reset (SendGrid) is an epoch second; a past one means no wait."""
    reset = int(NOW.timestamp()) + offset
    assert retry_after_seconds({"X-RateLimit-Reset": str(reset)}, NOW) == max(0, offset)


@given(st.dictionaries(st.sampled_from(["Retry-After", "X-RateLimit-Reset", "X"]), st.text()))
@example({"X-RateLimit-Reset": "0\x1f"})  # str.strip() drops \x1f, float() does not
def test_retry_after_never_raises_on_garbage(headers: dict[str, str]) -> None:
    """Any header values give a non-negative number or None, never an exception."""
    value = retry_after_seconds(headers, NOW)
    assert value is None or value >= 0


def test_lookup_prefers_the_most_specific_key() -> None:
    """A provider code beats its HTTP status, which beats the status class."""
    table = {
        "21211": InvalidRecipient,
        "429": RetryableTransportError,
        "4xx": PermanentTransportError,
    }
    assert type(error_for(table, http_keys(400, 21211), "x", provider="p")) is InvalidRecipient
    assert (
        type(error_for(table, http_keys(400, 21408), "x", provider="p")) is PermanentTransportError
    )
    error = error_for(table, http_keys(429, 20429), "x", provider="p", retry_after=3.0)
    assert isinstance(error, RetryableTransportError)
    assert error.retry_after == 3.0
    assert type(error_for(table, http_keys(599), "x", provider="p")) is UnknownOutcomeError
