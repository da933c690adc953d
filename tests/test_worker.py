"""``esc.worker()``: run_due() in a loop, waiting only when idle, stopping when asked."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import ConcurrentUpdate, DispatchReport, InvalidInput, RateLimited
from escalate._worker import WorkerSettings, run_worker
from escalate.store import SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport
from tests.workflow.test_delivery import connect, escalator


class RecordingStop(threading.Event):
    """A stop event that records every wait instead of sleeping through it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def scripted(
    stop: threading.Event, *outcomes: DispatchReport | Exception
) -> Callable[[int], DispatchReport]:
    """A run_due that gives ``outcomes`` in turn and sets ``stop`` after the last."""
    remaining: Iterator[DispatchReport | Exception] = iter(outcomes)
    count = len(outcomes)
    calls: list[int] = []

    def run_due(limit: int) -> DispatchReport:
        calls.append(limit)
        outcome = next(remaining)
        if len(calls) == count:
            stop.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return run_due


def test_a_backlog_drains_without_waiting_and_an_idle_cycle_waits() -> None:
    stop = RecordingStop()
    busy = DispatchReport(sent=3)
    run_due = scripted(stop, busy, busy, DispatchReport(), busy)
    total = run_worker(run_due, WorkerSettings(interval=60, limit=7), stop)
    assert stop.waits == [60]  # after the idle cycle only
    assert total.sent == 9


def test_a_passing_error_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    stop = RecordingStop()
    run_due = scripted(
        stop,
        ConcurrentUpdate("outbox row 'm1' kept changing"),
        RateLimited("slow down", retry_after=1),
        DispatchReport(sent=1),
    )
    with caplog.at_level("WARNING", logger="escalate"):
        total = run_worker(run_due, WorkerSettings(interval=0.5), stop)
    assert total.sent == 1
    assert stop.waits == [0.5, 0.5]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [
        "run_due() met ConcurrentUpdate",
        "run_due() met RateLimited",
    ]


class ReleasingStop(RecordingStop):
    """A stop event whose first wait releases a write lock another connection holds."""

    def __init__(self, other: sqlite3.Connection) -> None:
        super().__init__()
        self.other = other

    def wait(self, timeout: float | None = None) -> bool:
        if self.other.in_transaction:
            self.other.execute("ROLLBACK")
        else:
            self.set()
        return super().wait(timeout)


def test_a_write_lock_held_past_the_timeout_is_outlasted(
    tmp_path: Path, clock: FakeClock, sms: MemoryTransport, caplog: pytest.LogCaptureFixture
) -> None:
    """A cycle that meets StoreBusy is logged; the next, once the lock is gone, sends."""
    path = tmp_path / "e.db"
    esc = escalator(SQLiteStore(path, timeout=0.05), clock, sms, dispatch_immediately=False)
    connect(esc, clock)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    stop = ReleasingStop(other)
    with caplog.at_level("WARNING", logger="escalate"):
        total = esc.worker(interval=0.5, stop=stop)
    assert "run_due() met StoreBusy" in caplog.text
    assert total.sent == 1
    assert len(sms.sent) == 1
    other.close()
    esc.close()


def test_any_other_error_ends_the_loop() -> None:
    stop = RecordingStop()
    with pytest.raises(KeyError):
        run_worker(scripted(stop, KeyError("bug")), WorkerSettings(), stop)


def test_a_stop_set_before_it_starts_runs_nothing() -> None:
    stop = RecordingStop()
    stop.set()
    calls: list[int] = []

    def run_due(limit: int) -> DispatchReport:
        calls.append(limit)
        return DispatchReport()

    total = run_worker(run_due, WorkerSettings(), stop)
    assert (calls, total.idle) == ([], True)


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5))
def test_an_interval_is_a_positive_finite_number(interval: float) -> None:
    if 0 < interval < math.inf:
        assert WorkerSettings(interval=interval).interval == interval
    else:
        with pytest.raises(InvalidInput, match="interval"):
            WorkerSettings(interval=interval)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interval": True}, "interval"),
        ({"interval": "1"}, "interval"),
        ({"limit": 0}, "limit"),
        ({"limit": True}, "limit"),
        ({"limit": 2.0}, "limit"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(
    store: Store, clock: FakeClock, sms: MemoryTransport, options: dict[str, object], message: str
) -> None:
    esc = escalator(store, clock, sms)
    connect(esc, clock)
    clock.advance(timedelta(days=3))
    before = len(sms.sent)
    with pytest.raises(InvalidInput, match=message):
        esc.worker(**options)  # type: ignore[arg-type]
    assert len(sms.sent) == before


def test_the_worker_sends_the_reminder_when_it_falls_due(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A real loop on a thread: it idles, the day passes, the reminder goes, it stops."""
    esc = escalator(store, clock, sms)
    connect(esc, clock)
    assert len(sms.sent) == 1  # the intro
    stop = threading.Event()
    result: list[DispatchReport] = []
    thread = threading.Thread(
        target=lambda: result.append(esc.worker(interval=0.01, stop=stop)), daemon=True
    )
    thread.start()
    time.sleep(0.05)
    assert len(sms.sent) == 1  # nothing was due yet
    clock.advance(timedelta(hours=25))
    deadline = time.monotonic() + 10
    while len(sms.sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(sms.sent) == 2
    assert (result[0].sent, result[0].timers_fired) == (1, 1)
