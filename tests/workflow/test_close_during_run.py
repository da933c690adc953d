"""``Escalator.close()`` while another thread is in ``run_due()`` waits for it.

Found by a review: ``close`` waited for dispatch calls, but ``run_due`` became
one only once its timers had fired. Closed while it was firing them, the store's
connection went from under it, and the run died with sqlite3's
``Cannot operate on a closed database``. ``close`` now waits for the whole run,
which fires no more timers once ``close`` has begun: they wait, pending.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from escalate import Escalator, Identity, Workflow
from escalate.store import SQLiteStore, Timer
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread


class GatedStore(SQLiteStore):
    """Stops the first read of due timers until ``gate`` opens, telling ``entered``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        if not self.entered.is_set():
            self.entered.set()
            assert self.gate.wait(timeout=10)
        return super().due_timers(now, limit=limit, tenant=tenant)


def _desk(store: SQLiteStore, clock: FakeClock) -> Escalator:
    return Escalator(
        store,
        transports=[MemoryTransport(name="memory")],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )


def test_close_waits_for_a_run_that_is_firing_timers(tmp_path: Path, clock: FakeClock) -> None:
    """A run in fire_timers when close() begins ends cleanly; its timers wait for the next."""
    path = tmp_path / "e.db"
    esc = _desk(SQLiteStore(path), clock)
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, Identity.phone("+14155550142"), consent=WEB_FORM_CONSENT)
    esc.run_due()
    esc.close()
    clock.advance(hours=30)  # the follow-up timers are due

    store = GatedStore(path)
    esc = _desk(store, clock)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            esc.run_due()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    assert store.entered.wait(timeout=10)
    closer = threading.Thread(target=esc.close)
    closer.start()
    closer.join(timeout=0.2)
    assert closer.is_alive()  # waiting for the run, not closing the store under it
    store.gate.set()
    runner.join(timeout=10)
    closer.join(timeout=10)
    assert not runner.is_alive()
    assert not closer.is_alive()
    assert failures == []

    again = _desk(SQLiteStore(path), clock)
    assert again.run_due().timers_fired >= 1  # left pending, fired now
    again.close()
