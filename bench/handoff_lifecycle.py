"""Whole handoff lifecycles on SQLite (WAL), against raw sqlite3 writing the same rows.

One lifecycle, through the public API, with memory transports and a ``FakeClock``
on the default workflow: ``open(thread)`` (the public reply is posted),
``contact_provided(phone, consent=...)`` (the intro SMS is sent), ``inbound``
(the customer's reply), ``resolve()``. N handoffs run one after another on one
thread of one process.

The raw baseline is derived from what the library actually does. One lifecycle
is run on a scratch store whose connection is wrapped by a recorder: every
``execute`` and ``executemany`` call is kept with its SQL and its parameters,
exactly as the library made it. The calls are cut into transactions at ``BEGIN
IMMEDIATE`` / ``COMMIT``, and only the writing statements (INSERT, UPDATE,
DELETE) of the transactions that write are kept, same SQL text, same call
(one ``executemany`` stays one). Every value that belongs to that one handoff
(record ids, the reference code, the phone number, the social account, the
thread id) is replaced by a fresh one for each baseline handoff, inside the
JSON too; fresh ids increase from handoff to handoff, as the library's
time-ordered ids do. The baseline then replays those calls with plain
``sqlite3`` on its own file (same schema: made by opening a ``SQLiteStore`` on
it, then closed, same WAL and ``synchronous=NORMAL``), one ``BEGIN IMMEDIATE
... COMMIT`` per library write transaction, with every parameter built before
the clock starts. So the ratio is escalate's overhead (validation, workflow,
pydantic, consent checks, hashing, reads) over the database work itself. The
run checks that both sides made the same number of row changes
(``total_changes``) and write commits.

Library and baseline runs alternate in rounds in the same process (each on a
fresh file); the medians are reported with the load average.

    .venv/bin/python bench/handoff_lifecycle.py                  # 2,000 handoffs, 5 rounds
    .venv/bin/python bench/handoff_lifecycle.py --handoffs 500 --rounds 3
    .venv/bin/python bench/handoff_lifecycle.py --profile        # cProfile of one library run
    .venv/bin/python bench/handoff_lifecycle.py --memory         # both on :memory:, CPU only
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    HandoffState,
    Identity,
    InboundMessage,
    Thread,
    Workflow,
)
from escalate.store import SQLiteStore
from escalate.store._migrations import SQLITE_MIGRATIONS, migrate
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher

#: Monday 18:00 UTC: 10:00 in California, inside the default texting hours.
T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
CONSENT = ConsentEvidence(
    source=ConsentSource.WEB_FORM,
    text="Text me at this number about case updates. Reply STOP to opt out.",
    ip="203.0.113.7",
)
#: One recorded call: ``execute`` with a parameter tuple, or ``executemany`` with rows.
Statement = tuple[str, str, object]
Transaction = list[Statement]

_ID = re.compile(r"\b[a-z]{2,3}_[0-9a-f]{32}\b")
_WRITE = ("INSERT", "UPDATE", "DELETE")
#: ``--memory``: both sides on in-memory databases, so no file I/O is measured.
MEMORY = ":memory:"


def phone(n: int) -> str:
    return f"+1415{2_000_000 + n:07d}"


def thread_id(n: int) -> str:
    return f"th-{n:07d}"


def user_id(n: int) -> str:
    return str(7_000_000_000 + n)  # the platform's numeric account id


@dataclass
class Library:
    """An escalator on a fresh SQLite file, running numbered lifecycles."""

    esc: Escalator
    sms: MemoryTransport
    publisher: RecordingPublisher
    store: SQLiteStore

    @classmethod
    def open(cls, path: Path | str) -> Library:
        store = SQLiteStore(path)
        sms, publisher = MemoryTransport(name="memory"), RecordingPublisher()
        esc = Escalator(
            store,
            transports=[sms],
            clock=FakeClock(T0),
            publisher=publisher,
            workflow=Workflow.default(brand="Acme"),
        )
        return cls(esc, sms, publisher, store)

    def lifecycle(self, n: int) -> str:
        """One handoff from public post to resolved; returns its reference code."""
        esc = self.esc
        thread = Thread(
            platform="x",
            thread_id=thread_id(n),
            author=Identity.social("x", user_id(n), "jane_d"),
            text="my order never arrived and nobody answers",
            posted_at=esc.clock.now(),
        )
        handoff = esc.open(thread)
        address = Identity.phone(phone(n))
        esc.contact_provided(handoff.id, address, consent=CONSENT)
        esc.inbound(
            InboundMessage(
                channel=Channel.SMS,
                sender=address,
                body="it is order 1234, thanks",
                received_at=esc.clock.now(),
            )
        )
        resolved = esc.resolve(handoff.id)
        if resolved.state is not HandoffState.RESOLVED:  # pragma: no cover - a broken lifecycle
            raise AssertionError(f"handoff ended {resolved.state}")
        return handoff.reference

    def run(self, start: int, count: int) -> float:
        """Seconds for ``count`` lifecycles numbered from ``start``."""
        t0 = time.perf_counter()
        for n in range(start, start + count):
            self.lifecycle(n)
        elapsed = time.perf_counter() - t0
        if len(self.sms.sent) < count or len(self.publisher.replies) < count:
            raise AssertionError("every lifecycle sends one SMS and posts one public reply")
        return elapsed

    def close(self) -> None:
        self.esc.close()


class Recorder:
    """Stands in for a store's connection and records every call made through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.calls: list[Statement] = []

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        self.calls.append(("execute", sql, tuple(params)))
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> sqlite3.Cursor:
        batch = [tuple(row) for row in rows]
        self.calls.append(("executemany", sql, batch))
        return self._conn.executemany(sql, batch)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def capture(path: Path, n: int, warm: int = 3) -> tuple[list[Transaction], dict[str, str], int]:
    """The write transactions of lifecycle ``n`` (after ``warm`` others), as templates.

    Returns the transactions, the handoff's own values to substitute, and how
    many transactions the lifecycle opened in all (with and without writes).
    """
    lib = Library.open(path)
    lib.run(10**6, warm)
    conn = lib.store._conn
    recorder = Recorder(conn)
    lib.store._conn = recorder  # type: ignore[assignment]
    reference = lib.lifecycle(n)
    lib.store._conn = conn
    lib.close()
    transactions: list[Transaction] = []
    current: Transaction | None = None
    opened = 0
    for call in recorder.calls:
        sql = call[1]
        head = sql.lstrip().split(None, 1)[0].upper()
        if head == "BEGIN":
            current, opened = [], opened + 1
        elif head in ("COMMIT", "ROLLBACK"):
            if current and head == "COMMIT":
                transactions.append(current)
            current = None
        elif head in _WRITE:
            if current is None:
                raise AssertionError(f"a write outside a transaction: {sql[:60]}")
            current.append(call)
    own = {phone(n): "phone", thread_id(n): "thread", user_id(n): "user", reference: "ref"}
    for _, _, params in recorder.calls:
        for value in _strings(params):
            for found in _ID.findall(value):
                own.setdefault(found, "id")
    return transactions, own, opened


def _strings(params: object) -> Iterator[str]:
    """Every string among a call's parameters (a tuple, or rows of tuples)."""
    if isinstance(params, str):
        yield params
    elif isinstance(params, tuple | list):
        for value in params:
            yield from _strings(value)


def substitutes(own: dict[str, str], n: int) -> dict[str, str]:
    """Fresh values, of the same length, for baseline handoff ``n``."""
    out: dict[str, str] = {}
    for index, (value, kind) in enumerate(sorted(own.items())):
        if kind == "phone":
            out[value] = phone(n)
        elif kind == "thread":
            out[value] = thread_id(n)
        elif kind == "user":
            out[value] = user_id(n)
        elif kind == "ref":
            out[value] = f"{n // 100:04d}-{n % 100:02d}"
        else:
            prefix = value.split("_", 1)[0]
            out[value] = f"{prefix}_{n:016x}{index:016x}"
    return out


def baseline_statements(
    template: Sequence[Transaction], own: dict[str, str], start: int, count: int
) -> list[list[Transaction]]:
    """The template's calls for ``count`` handoffs, all parameters built up front."""
    pattern = re.compile("|".join(re.escape(value) for value in sorted(own, key=len, reverse=True)))
    handoffs = []
    for n in range(start, start + count):
        new = substitutes(own, n)

        def swap(value: object, new: dict[str, str] = new) -> object:
            if isinstance(value, str):
                return pattern.sub(lambda m: new[m.group(0)], value)
            return value

        def params(kind: str, values: object) -> object:
            if kind == "executemany":
                return [tuple(swap(v) for v in row) for row in values]  # type: ignore[attr-defined]
            return tuple(swap(v) for v in values)  # type: ignore[attr-defined]

        handoffs.append(
            [[(kind, sql, params(kind, values)) for kind, sql, values in tx] for tx in template]
        )
    return handoffs


def raw_connection(path: Path | str) -> sqlite3.Connection:
    """Plain sqlite3 on a file (or ``":memory:"``) with the store's schema and pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    # The store zeroes a changed row's old text (erasure must not leave it in the
    # file); the baseline pays for that too, or it would not be the same writes.
    conn.execute("PRAGMA secure_delete = FAST")
    if path == MEMORY:
        conn.execute("BEGIN IMMEDIATE")
        migrate(conn, SQLITE_MIGRATIONS)
        conn.execute("COMMIT")
        return conn
    SQLiteStore(path).close()
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def run_baseline(conn: sqlite3.Connection, handoffs: Sequence[Sequence[Transaction]]) -> float:
    """Seconds to replay ``handoffs``: each transaction in its own BEGIN IMMEDIATE/COMMIT."""
    execute, executemany = conn.execute, conn.executemany
    t0 = time.perf_counter()
    for transactions in handoffs:
        for tx in transactions:
            execute("BEGIN IMMEDIATE")
            for kind, sql, params in tx:
                if kind == "execute":
                    execute(sql, params)
                else:
                    executemany(sql, params)
            execute("COMMIT")
    return time.perf_counter() - t0


def count_commits(conn: sqlite3.Connection) -> list[int]:
    """Start counting write commits on ``conn``: a list whose one item grows."""
    counter = [0]
    state = {"writes": False}

    def trace(sql: str) -> None:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head == "BEGIN":
            state["writes"] = False
        elif head in _WRITE:
            state["writes"] = True
        elif head == "COMMIT" and state["writes"]:
            counter[0] += 1

    conn.set_trace_callback(trace)
    return counter


def compare(tmp: Path, handoffs: int) -> dict[str, int]:
    """Run ``handoffs`` lifecycles and their baseline once; count changes and write commits."""
    template, own, opened = capture(tmp / "capture.db", 0)
    lib = Library.open(tmp / "lib-check.db")
    lib_commits = count_commits(lib.store._conn)
    before = lib.store._conn.total_changes
    lib.run(1, handoffs)
    lib_changes = lib.store._conn.total_changes - before
    lib.close()
    conn = raw_connection(tmp / "raw-check.db")
    raw_commits = count_commits(conn)
    before = conn.total_changes
    run_baseline(conn, baseline_statements(template, own, 1, handoffs))
    raw_changes = conn.total_changes - before
    conn.close()
    return {
        "transactions_per_handoff": opened,
        "write_commits_per_handoff": len(template),
        "statements_per_handoff": sum(len(tx) for tx in template),
        "library_commits": lib_commits[0],
        "baseline_commits": raw_commits[0],
        "library_changes": lib_changes,
        "baseline_changes": raw_changes,
    }


def bench(handoffs: int, rounds: int, *, memory: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        shape = compare(tmp, 20)
        if shape["library_commits"] != shape["baseline_commits"] or (
            shape["library_changes"] != shape["baseline_changes"]
        ):
            raise AssertionError(f"the baseline does not match the library: {shape}")
        template, own, _ = capture(tmp / "capture2.db", 0)
        lib_rates, raw_rates = [], []
        loads = [os.getloadavg()[0]]
        for r in range(rounds):
            work = baseline_statements(template, own, 1, handoffs)
            conn = raw_connection(MEMORY if memory else tmp / f"raw-{r}.db")
            lib = Library.open(MEMORY if memory else tmp / f"lib-{r}.db")
            lib.run(10**6, 5)  # warm: pydantic serializers, statement cache
            order = ("lib", "raw") if r % 2 == 0 else ("raw", "lib")
            for side in order:
                if side == "lib":
                    lib_rates.append(handoffs / lib.run(1, handoffs))
                else:
                    raw_rates.append(handoffs / run_baseline(conn, work))
            lib.close()
            conn.close()
            loads.append(os.getloadavg()[0])
            print(
                f"round {r + 1}: library {lib_rates[-1]:,.0f}/s,"
                f" raw {raw_rates[-1]:,.0f}/s, load {loads[-1]:.2f}",
                file=sys.stderr,
            )
    lib_rate, raw_rate = statistics.median(lib_rates), statistics.median(raw_rates)
    return {
        **shape,
        "library_handoffs_per_s": lib_rate,
        "raw_handoffs_per_s": raw_rate,
        "ratio": raw_rate / lib_rate,
        "load_min": min(loads),
        "load_max": max(loads),
    }


def profile(handoffs: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        lib = Library.open(Path(name) / "profile.db")
        lib.run(10**6, 5)
        profiler = cProfile.Profile()
        profiler.runcall(lib.run, 1, handoffs)
        lib.close()
    pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
        int(os.environ.get("N", "45"))
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--handoffs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one library run")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="run both sides on in-memory databases: CPU only, no file I/O or fsync",
    )
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.handoffs)
        return
    figures = bench(args.handoffs, args.rounds, memory=args.memory)
    print(
        f"handoffs per round: {args.handoffs}, rounds: {args.rounds},"
        f" python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}"
    )
    for key, value in figures.items():
        print(f"{key}: {value:,.2f}" if isinstance(value, float) else f"{key}: {value}")
    target = figures["library_handoffs_per_s"] >= 1000 and figures["ratio"] <= 2.0
    print(f"target (>= 1,000 handoffs/s, <= 2.0x raw): {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
