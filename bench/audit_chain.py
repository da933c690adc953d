"""Cost of the audit hash chain on SQLite, against raw sqlite3 doing the same writes.

Run: .venv/bin/python bench/audit_chain.py [commits]

Prints, for the same commits (3 events each, spread over 100 handoff chains):
- SQLiteStore.commit (events hashed and linked, chain heads upserted) per second;
- raw sqlite3 inserting the same event rows in the same transactions (no chain);
- the ratio store/raw;
- the same store with the chain switched off (events inserted as before
  migration 6), so the chain's own share of the cost is visible;
the speed of verify_store over the whole log against raw sqlite3 reading and
decoding the same rows; and whole handoff lifecycles (open, contact with consent,
SMS, reply, resolve; memory transport) per second with and without the chain.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Event,
    Identity,
    InboundMessage,
    Thread,
    Workflow,
)
from escalate.audit import verify_store
from escalate.store import Changes, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
CHAINS = 100
PER_COMMIT = 3
Writer = Callable[[list[list[Event]]], float]
LifeCycles = Callable[[int], float]


def make_batches(commits: int) -> list[list[Event]]:
    batches = []
    for n in range(commits):
        handoff = f"ho_{n % CHAINS:04d}"
        batches.append(
            [
                Event(
                    id=f"ev_{n}_{k}",
                    kind="handoff.transition",
                    at=T0 + timedelta(seconds=n),
                    handoff_id=handoff,
                    contact_id="ct_1",
                    data={"from": "opened", "to": "acknowledged", "reason": "bench", "k": k},
                )
                for k in range(PER_COMMIT)
            ]
        )
    return batches


class UnchainedStore(SQLiteStore):
    """SQLiteStore writing events as before the chain: isolates the chain's own cost."""

    def _write_events(self, conn: sqlite3.Connection, events: Sequence[Event]) -> None:
        conn.executemany(
            "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.id,
                    e.tenant,
                    e.kind,
                    e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    e.handoff_id,
                    e.contact_id,
                    e.model_dump_json(),
                )
                for e in events
            ],
        )


def store_writer(path: Path, kind: type[SQLiteStore]) -> tuple[SQLiteStore, Writer]:
    store = kind(path)

    def write(batches: list[list[Event]]) -> float:
        start = time.perf_counter()
        for batch in batches:
            store.commit(Changes(events=batch))
        return time.perf_counter() - start

    return store, write


def raw_writer(path: Path) -> tuple[sqlite3.Connection, Writer]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        # The store's own events table (schema 7: a plain rowid, no AUTOINCREMENT).
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " tenant TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, handoff_id TEXT,"
        " contact_id TEXT, data TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX events_handoff ON events (tenant, handoff_id, seq)")
    conn.execute("CREATE INDEX events_contact ON events (tenant, contact_id, seq)")

    def write(batches: list[list[Event]]) -> float:
        start = time.perf_counter()
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.id,
                        e.tenant,
                        e.kind,
                        e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        e.handoff_id,
                        e.contact_id,
                        e.model_dump_json(),
                    )
                    for e in batch
                ],
            )
            conn.execute("COMMIT")
        return time.perf_counter() - start

    return conn, write


def read_raw(path: Path) -> float:
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    rows = conn.execute("SELECT seq, data FROM events ORDER BY seq").fetchall()
    decoded = [Event.model_validate_json(data) for _, data in rows]
    elapsed = time.perf_counter() - start
    assert decoded
    conn.close()
    return elapsed


def measure(commits: int, rounds: int = 10) -> dict[str, float]:
    """Run the three writers side by side in this process, interleaved in ``rounds``.

    Interleaving (and rotating who goes first) spreads any load from other
    processes evenly over the three, so the ratios stay meaningful on a busy box.
    """
    batches = make_batches(commits)
    chunk = max(1, commits // rounds)
    chunks = [batches[i : i + chunk] for i in range(0, commits, chunk)]
    with tempfile.TemporaryDirectory() as tmp:
        conn, raw = raw_writer(Path(tmp) / "raw.db")
        plain, unchained = store_writer(Path(tmp) / "plain.db", UnchainedStore)
        store, chained = store_writer(Path(tmp) / "store.db", SQLiteStore)
        writers = [raw, unchained, chained]
        totals = [0.0, 0.0, 0.0]
        for n, part in enumerate(chunks):
            for k in range(3):
                index = (n + k) % 3
                totals[index] += writers[index](part)
        start = time.perf_counter()
        report = verify_store(store, "default")
        verify = time.perf_counter() - start
        assert report.ok, report.problems
        assert report.events_verified == commits * PER_COMMIT
        read = read_raw(Path(tmp) / "store.db")
        for closing in (conn, plain, store):
            closing.close()
    raw_s, unchained_s, chained_s = totals
    events = commits * PER_COMMIT
    return {
        "commits": commits,
        "events": events,
        "store_commits_per_s": commits / chained_s,
        "raw_commits_per_s": commits / raw_s,
        "commit_ratio": chained_s / raw_s,
        "unchained_store_commits_per_s": commits / unchained_s,
        "chain_overhead_ratio": chained_s / unchained_s,
        "verify_events_per_s": events / verify,
        "raw_read_events_per_s": events / read,
        "verify_ratio": verify / read,
    }


def lifecycle_writer(path: Path, kind: type[SQLiteStore]) -> tuple[Escalator, LifeCycles]:
    """An escalator on ``kind`` running whole handoffs: open, contact, reply, resolve."""
    clock = FakeClock()
    esc = Escalator(
        kind(path),
        transports=[MemoryTransport()],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
    )
    consent = ConsentEvidence(source=ConsentSource.WEB_FORM, text="ok", ip="203.0.113.7")
    counter = iter(range(10**9))

    def run(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            n = next(counter)
            author = Identity.social("x", str(10_000 + n))
            thread = Thread(
                platform="x", thread_id=str(n), author=author, text="help", posted_at=clock.now()
            )
            handoff = esc.open(thread)
            phone = Identity.phone(f"+1415555{n % 10_000:04d}")
            esc.contact_provided(handoff.id, phone, consent=consent)
            esc.inbound(
                InboundMessage(
                    channel=Channel.SMS, sender=phone, body="thanks", received_at=clock.now()
                )
            )
            esc.resolve(handoff.id)
        return time.perf_counter() - start

    return esc, run


def measure_lifecycle(handoffs: int, rounds: int = 10) -> dict[str, float]:
    """Whole handoffs per second with and without the chain, interleaved in ``rounds``."""
    chunk = max(1, handoffs // rounds)
    with tempfile.TemporaryDirectory() as tmp:
        plain_esc, plain = lifecycle_writer(Path(tmp) / "plain.db", UnchainedStore)
        chained_esc, chained = lifecycle_writer(Path(tmp) / "store.db", SQLiteStore)
        totals = [0.0, 0.0]
        for n in range(0, handoffs, chunk):
            for index in (0, 1) if n // chunk % 2 == 0 else (1, 0):
                totals[index] += (plain, chained)[index](chunk)
        events = len(chained_esc.store.events("default"))
        assert chained_esc.verify_log().ok
        plain_esc.close()
        chained_esc.close()
    done = chunk * len(range(0, handoffs, chunk))
    return {
        "handoffs": done,
        "events_per_handoff": events / done,
        "lifecycle_unchained_handoffs_per_s": done / totals[0],
        "lifecycle_chained_handoffs_per_s": done / totals[1],
        "lifecycle_chain_overhead_ratio": totals[1] / totals[0],
    }


def main() -> None:
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    figures = measure(commits) | measure_lifecycle(commits // 5)
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
