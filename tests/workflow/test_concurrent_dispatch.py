"""Concurrent dispatch: a worker pool and rival dispatchers never send one row twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from escalate import (
    Channel,
    Escalator,
    Identity,
    OutboundMessage,
    RetryableTransportError,
    SendResult,
    Workflow,
)
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread

ROWS = 60


class RecordingTransport:
    """Records every send call (thread-safe) and takes a millisecond, so calls overlap."""

    name = "memory"
    channels = frozenset(Channel)

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        time.sleep(0.001)
        with self._lock:
            self.calls.append(message.id)
            self.threads.add(threading.current_thread().name)
        return SendResult(provider="recorder", provider_message_id=message.id)

    def close(self) -> None:
        """Nothing to release."""


def queue_sms(store: Store, clock: FakeClock) -> set[str]:
    """Leave ROWS SMS rows due: the first attempt of each fails retryably, then time passes."""
    failing = MemoryTransport(name="memory")
    failing.fail_next(RetryableTransportError("503"), times=ROWS)
    setup = Escalator(store, transports=[failing], clock=clock, publisher=RecordingPublisher())
    for index in range(ROWS):
        handoff = setup.open(make_thread(clock, thread_id=str(3000 + index), user_id=str(index)))
        phone = Identity.phone(f"+1415555{index:04d}")
        setup.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
    clock.advance(minutes=30)
    return {item.id for item in store.outbox("default") if item.command.kind == "send_message"}


def dispatcher(store: Store, clock: FakeClock, transport: RecordingTransport) -> Escalator:
    return Escalator(
        store,
        transports=[transport],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(),
        concurrency=8,
    )


def race(escalators: list[Escalator]) -> None:
    """Run every escalator's run_due at once, from its own thread, in small batches."""
    start = threading.Barrier(len(escalators))

    def run(esc: Escalator) -> None:
        start.wait()
        esc.run_due(limit=7)

    with ThreadPoolExecutor(len(escalators)) as pool:
        for future in [pool.submit(run, esc) for esc in escalators]:
            future.result()  # re-raises a dispatcher's error here


def test_pool_and_rival_escalators_on_one_memory_store_send_each_row_once() -> None:
    """Three escalators with 8-thread pools on one MemoryStore: every row sent exactly once."""
    clock, store, transport = FakeClock(), MemoryStore(), RecordingTransport()
    expected = queue_sms(store, clock)
    escalators = [dispatcher(store, clock, transport) for _ in range(3)]
    race(escalators)
    assert Counter(transport.calls) == dict.fromkeys(expected, 1)
    assert len(transport.threads) > 1  # the pool really ran sends in parallel
    assert {i.status for i in store.outbox("default")} == {OutboxStatus.DONE}
    for esc in escalators:
        esc.close()


def test_two_sqlite_connections_to_one_file_send_each_row_once(tmp_path: Path) -> None:
    """Two escalators, each with its own connection to one SQLite file: zero duplicates."""
    clock, transport = FakeClock(), RecordingTransport()
    path = tmp_path / "shared.db"
    setup_store = SQLiteStore(path)
    expected = queue_sms(setup_store, clock)
    stores = [SQLiteStore(path), SQLiteStore(path)]
    escalators = [dispatcher(store, clock, transport) for store in stores]
    race(escalators)
    assert Counter(transport.calls) == dict.fromkeys(expected, 1)
    assert {i.status for i in setup_store.outbox("default")} == {OutboxStatus.DONE}
    for esc in escalators:
        esc.close()
    setup_store.close()


class SlowTransport(RecordingTransport):
    """A provider that takes 50 ms per message, like a remote API."""

    def send(self, message: OutboundMessage) -> SendResult:
        time.sleep(0.05)
        return super().send(message)


def test_pool_overlaps_slow_sends() -> None:
    """Short P3: 60 sends of 50 ms at concurrency 16 finish near the Little's-law bound.

    Sequentially they take 3 s; the bound is 60 / (16 / 0.05 s) ~ 0.19 s (4 waves: 0.2 s).
    The threshold (1 s) is loose because the test machine is shared; the bench measures.
    """
    clock, store, transport = FakeClock(), MemoryStore(), SlowTransport()
    queue_sms(store, clock)
    esc = dispatcher(store, clock, transport)
    esc.engine.concurrency = 16
    started = time.perf_counter()
    assert esc.run_due().sent == ROWS
    assert time.perf_counter() - started < 1.0
    esc.close()


class SecondFails(RecordingTransport):
    """Refuses, retryably, every message whose body says "second"."""

    def send(self, message: OutboundMessage) -> SendResult:
        if "second update" in message.body:
            raise RetryableTransportError("503")
        return super().send(message)


def test_a_pool_counts_every_send_and_keeps_each_handoffs_audit_order() -> None:
    """Acceptances settled behind the pool are counted by run_due, in row order per handoff.

    The middle message of each handoff is settled by its worker (a retry), the
    ones before it behind the pool: the audit trail must still list them in row
    order. The agent's last message waits behind the retried one: it never
    overtakes it.
    """
    clock, store, transport = FakeClock(), MemoryStore(), SecondFails()
    esc = Escalator(
        store,
        transports=[transport],
        clock=clock,
        publisher=RecordingPublisher(),
        concurrency=8,
        dispatch_immediately=False,
    )
    handoffs = []
    for index in range(12):
        handoff = esc.open(make_thread(clock, thread_id=str(5000 + index), user_id=str(index)))
        esc.contact_provided(
            handoff.id, Identity.phone(f"+1415556{index:04d}"), consent=WEB_FORM_CONSENT
        )
        for text in ("first", "second", "third"):
            esc.send_message(handoff.id, f"{text} update")
        handoffs.append(handoff.id)
    rows = [item for item in store.outbox("default") if item.command.kind == "send_message"]
    report = esc.run_due(limit=100)
    assert report.sent == len(rows) - 2 * len(handoffs) == len(transport.calls)
    assert report.retried == len(handoffs)
    thirds = {item.id for item in rows if "third update" in getattr(item.command, "body", "")}
    assert len(thirds) == len(handoffs)
    assert not thirds & set(transport.calls)
    for handoff_id in handoffs:
        queued = [item.id for item in rows if item.handoff_id == handoff_id][:-1]
        settled = [
            event.data["outbox_id"]
            for event in esc.history(handoff_id)
            if event.kind in ("message.sent", "message.retry_scheduled")
        ]
        assert settled == queued
    esc.close()


def test_a_verbs_own_dispatch_has_settled_its_send_when_it_returns() -> None:
    """After the pool has run once, a verb's inline dispatch still returns settled rows."""
    clock, store, transport = FakeClock(), MemoryStore(), RecordingTransport()
    esc = Escalator(
        store, transports=[transport], clock=clock, publisher=RecordingPublisher(), concurrency=4
    )
    first = esc.open(make_thread(clock, thread_id="7001", user_id="1"))
    esc.contact_provided(first.id, Identity.phone("+14155557001"), consent=WEB_FORM_CONSENT)
    esc.run_due()  # the pool and its settler exist from here on
    handoff = esc.open(make_thread(clock, thread_id="7002", user_id="2"))
    esc.contact_provided(handoff.id, Identity.phone("+14155557002"), consent=WEB_FORM_CONSENT)
    sends = [
        i
        for i in store.outbox("default", handoff_id=handoff.id)
        if i.command.kind == "send_message"
    ]
    assert [i.status for i in sends] == [OutboxStatus.DONE]
    assert "message.sent" in [e.kind for e in esc.history(handoff.id)]
    esc.close()
