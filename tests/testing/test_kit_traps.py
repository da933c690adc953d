"""Test-kit helpers that used to let a test pass without checking anything.

Each case here passed vacuously (or silently ignored an argument) before:
the helper now reads what it claims to, or refuses the call with ``InvalidInput``.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalate import Channel, Identity, InvalidInput, RetryableTransportError, SystemClock
from escalate._messages import OutboundMessage
from escalate.testing import FakeClock, MemoryTransport, Scenario
from escalate.transports.console import ConsoleTransport

PHONE = "(415) 555-0142"


def message() -> OutboundMessage:
    return OutboundMessage(
        id="ob_1",
        idempotency_key="k1",
        channel=Channel.SMS,
        to=Identity.phone("+14155550142"),
        body="hi",
    )


def test_sends_after_clear_are_still_unexamined() -> None:
    """After transport.clear(), a new send did not inherit the examined mark of the old one."""
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        s.assert_sent(1)
        s.transport.clear()
        s.post_publicly(thread_id="second")
        s.customer_provides(phone="(415) 555-0143")
        with pytest.raises(AssertionError, match="1 send"):
            s.assert_nothing_more_sent()
        s.assert_sent(1, to="(415) 555-0143")


def test_with_transports_the_transport_is_the_one_given() -> None:
    """s.transport was a fresh MemoryTransport wired to nothing: fail_next and sent did nothing."""
    sms = MemoryTransport([Channel.SMS])
    with Scenario(transports=[sms]) as s:
        assert s.transport is sms
        s.post_publicly()
        s.transport.fail_next(RetryableTransportError("503"))
        s.customer_provides(phone=PHONE)
        assert s.transport.sent == []  # the scripted failure happened...
        assert len(s.queued) == 1  # ...and left the send waiting for its retry
        s.advance(minutes=1)
        s.assert_sent(1)


def test_transports_without_a_memory_transport_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing to read, every assert_nothing_more_sent passed: refused, leaving no files."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(InvalidInput, match="needs a MemoryTransport"):
        Scenario(transports=[ConsoleTransport()], store="sqlite")
    with pytest.raises(InvalidInput, match="needs a MemoryTransport"):
        Scenario(transports=[])
    assert list(tmp_path.iterdir()) == []


def test_a_refused_start_leaves_no_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A naive start= was refused only after the SQLite directory was made; a clock that is
    not a FakeClock was accepted and failed at the first advance()."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(InvalidInput, match="aware"):
        Scenario(store="sqlite", start=datetime(2026, 3, 10, 17, 0))  # naive on purpose
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidInput, match="FakeClock"):
        Scenario(store="sqlite", clock=SystemClock())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_an_empty_containing_is_refused() -> None:
    """containing="" matched every message, so it checked nothing."""
    with Scenario(strict=False) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        with pytest.raises(InvalidInput, match="every message"):
            s.assert_sent(1, containing="")
        s.assert_sent(1, containing=s.reference)


def test_sent_to_reads_the_address_as_typed() -> None:
    """sent_to("(415) 555-0142") compared raw text with E.164, so it was always []."""
    transport = MemoryTransport()
    with Scenario(transports=[transport]) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        assert len(transport.sent_to("+1 (415) 555-0142")) == 1
        assert len(transport.sent_to(PHONE, region="US")) == 1
        assert len(transport.sent_to(Identity.phone("+14155550142"))) == 1
        assert transport.sent_to("+1 415 555 0199") == []
        s.assert_sent(1)
    transport.clear()
    with pytest.raises(InvalidInput):
        transport.sent_to(4155550142)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "times", "named"),
    [
        (RetryableTransportError("503"), -1, "times must be an int >= 0"),
        (RetryableTransportError("503"), 1.5, "times must be an int >= 0"),
        (RetryableTransportError("503"), True, "times must be an int >= 0"),
        (RetryableTransportError, 1, "exception instance"),
        ("503", 1, "exception instance"),
    ],
)
def test_fail_next_refuses_a_script_it_cannot_follow(
    error: object, times: object, named: str
) -> None:
    """times=-1 scripted nothing silently, and a non-exception failed only at send time."""
    transport = MemoryTransport()
    with pytest.raises(InvalidInput, match=named):
        transport.fail_next(error, times)  # type: ignore[arg-type]
    transport.fail_next(RetryableTransportError("503"), times=0)  # none, as parametrized tests ask
    assert transport.send(message()).provider == "memory"


def test_advance_needs_a_step_it_can_take() -> None:
    """advance() alone moved nothing; a step past datetime.max raised OverflowError."""
    with Scenario() as s:
        start = s.clock.now()
        with pytest.raises(InvalidInput, match="give a step"):
            s.advance()
        with pytest.raises(InvalidInput, match="give a step"):
            s.clock.advance()
        with pytest.raises(InvalidInput, match="last date"):
            s.advance(days=999_999_999)
        with pytest.raises(InvalidInput, match="last date"):
            s.clock.advance(timedelta(days=999_999_999))
        assert s.clock.now() == start


def test_fake_clock_refuses_what_is_not_an_aware_datetime() -> None:
    """A string start or set() raised AttributeError; a naive one was already refused."""
    with pytest.raises(InvalidInput, match="aware datetime"):
        FakeClock("2026-03-10T17:00:00Z")  # type: ignore[arg-type]
    clock = FakeClock(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="aware datetime"):
        clock.set("2026-03-11")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timezone-aware"):
        clock.set(datetime(2026, 3, 11))  # naive on purpose
