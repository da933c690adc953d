"""The outbox's own CPU per send: 2,000 queued SMS, a transport that returns at once.

With no provider latency, what is measured is the library's work around each send
(claim, consent check, settle with its audit event) on one thread and on a pool,
where the difference is threads queueing for the store's lock and the GIL. P3
(``dispatch_throughput.py``) is CPU-bound, so this is its budget.

    .venv/bin/python bench/dispatch_cpu.py              # concurrency 1 and 64
    .venv/bin/python bench/dispatch_cpu.py 1 8 64
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from dispatch_throughput import HTTPTransport, queue

from escalate import Escalator, OutboundMessage, SendResult
from escalate.consent import ConsentPolicy, Purpose
from escalate.store import SQLiteStore

SENDS = 2000


class Instant:
    """A transport that accepts every message at once."""

    name = "stub"
    channels = HTTPTransport.channels
    sender = "+14155550000"

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider=self.name, provider_message_id="SM1")

    def close(self) -> None:
        """Nothing to close."""


def measure(concurrency: int) -> tuple[float, float]:
    """Wall and CPU microseconds per send at ``concurrency``."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "cpu.db")
        queue(store, SENDS)
        esc = Escalator(
            store,
            transports=[Instant()],
            concurrency=concurrency,
            dispatch_immediately=False,
            consent_policy=ConsentPolicy(quiet_hours={Purpose.TRANSACTIONAL: None}),
        )
        cpu, wall = time.process_time(), time.perf_counter()
        report = esc.run_due(limit=500)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        esc.close()
    if report.sent != SENDS:
        raise AssertionError(f"sent {report.sent} of {SENDS}")
    return wall / SENDS * 1e6, cpu / SENDS * 1e6


def main() -> None:
    levels = [int(arg) for arg in sys.argv[1:]] or [1, 64]
    measure(levels[0])  # warm-up: first-use imports and validators
    for concurrency in levels:
        wall, cpu = measure(concurrency)
        print(f"concurrency {concurrency}: {wall:.0f} us wall, {cpu:.0f} us CPU per send")


if __name__ == "__main__":
    main()
