"""Where a handoff lifecycle's time goes: SQLite calls by kind, and the rest.

Runs the lifecycle of ``handoff_lifecycle.py`` (library) and the raw replay of
its writes (raw) with every ``execute``/``executemany`` timed by a proxy
connection, on a file (WAL, as the timed bench) and on ``:memory:``, and prints
microseconds per lifecycle for each kind of call: ``BEGIN``, ``COMMIT``
(checkpoints included), writes, reads inside a write transaction (chain heads,
claims), reads in autocommit (each its own read transaction), and for the
library the remainder, its own Python.

The proxy adds about a microsecond per call to both sides, so totals here run
above the timed bench's; the point is the split. The ratio target is about the
remainder: the raw side has none, and the two sides' ``COMMIT`` and writes are
the same calls.

    .venv/bin/python bench/lifecycle_split.py                 # 1,000 lifecycles per run
    .venv/bin/python bench/lifecycle_split.py --handoffs 300
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from handoff_lifecycle import (
    MEMORY,
    Library,
    baseline_statements,
    capture,
    raw_connection,
)

WARM = 50
KINDS = ("BEGIN", "COMMIT", "write", "read in transaction", "read in autocommit")


class TimedConnection:
    """Stands in for a connection and adds each call's time to its kind."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._in_transaction = False

    def _kind(self, sql: str) -> str:
        head = sql.lstrip().split(None, 1)[0].upper()
        if head == "BEGIN":
            self._in_transaction = True
            return "BEGIN"
        if head in ("COMMIT", "ROLLBACK"):
            self._in_transaction = False
            return "COMMIT"
        if head in ("SELECT", "WITH"):
            return "read in transaction" if self._in_transaction else "read in autocommit"
        return "write"

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self._timed(self.conn.execute, sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> sqlite3.Cursor:
        return self._timed(self.conn.executemany, sql, rows)

    def _timed(self, call: Callable[[str, Any], sqlite3.Cursor], sql: str, args: Any) -> Any:
        kind = self._kind(sql)
        t0 = time.perf_counter()
        cursor = call(sql, args)
        self.seconds[kind] += time.perf_counter() - t0
        self.calls[kind] += 1
        return cursor

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)


#: Per lifecycle: kind -> (calls, microseconds); "total" and "python" as (0, us).
Split = dict[str, tuple[float, float]]


def library_split(path: Path | str, handoffs: int) -> Split:
    """Time ``handoffs`` library lifecycles on ``path``, split by kind of call."""
    lib = Library.open(path)
    lib.run(10**6, WARM)
    timed = TimedConnection(lib.store._conn)
    lib.store._conn = timed  # type: ignore[assignment]
    elapsed = lib.run(1, handoffs)
    lib.store._conn = timed.conn
    lib.close()
    return _split(timed, elapsed, handoffs)


def raw_split(path: Path | str, handoffs: int) -> Split:
    """Time the raw replay of ``handoffs`` lifecycles' writes on ``path``, split by kind."""
    with tempfile.TemporaryDirectory() as name:  # a fresh store: a first contact is written
        template, own, _ = capture(Path(name) / "capture.db", 0)
    conn = raw_connection(path)
    timed = TimedConnection(conn)
    warm = baseline_statements(template, own, 10**6, WARM)
    work = baseline_statements(template, own, 1, handoffs)
    _replay(conn, warm)
    t0 = time.perf_counter()
    _replay(timed, work)
    elapsed = time.perf_counter() - t0
    conn.close()
    return _split(timed, elapsed, handoffs)


def _replay(conn: sqlite3.Connection | TimedConnection, work: Sequence[Sequence[object]]) -> None:
    for transactions in work:
        for tx in transactions:  # type: ignore[attr-defined]
            conn.execute("BEGIN IMMEDIATE")
            for kind, sql, params in tx:
                if kind == "execute":
                    conn.execute(sql, params)
                else:
                    conn.executemany(sql, params)
            conn.execute("COMMIT")


def _split(timed: TimedConnection, elapsed: float, handoffs: int) -> Split:
    per = 1e6 / handoffs
    split = {kind: (timed.calls[kind] / handoffs, timed.seconds[kind] * per) for kind in KINDS}
    split["total"] = (0.0, elapsed * per)
    split["python"] = (0.0, (elapsed - sum(timed.seconds.values())) * per)
    return split


def report(label: str, split: Split) -> list[str]:
    lines = [f"{label}: {split['total'][1]:,.0f} us per lifecycle"]
    for kind in KINDS:
        calls, micros = split[kind]
        if calls:
            lines.append(f"  {kind:20s} {calls:5.1f} calls {micros:8,.1f} us")
    if label.startswith("library"):
        lines.append(f"  {'python (the rest)':20s} {'':11s} {split['python'][1]:8,.1f} us")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--handoffs", type=int, default=1000)
    args = parser.parse_args(argv)
    print(f"lifecycles per run: {args.handoffs}, sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for where, lib_path, raw_path in (
            ("file", tmp / "lib.db", tmp / "raw.db"),
            ("memory", MEMORY, MEMORY),
        ):
            lib = library_split(lib_path, args.handoffs)
            raw = raw_split(raw_path, args.handoffs)
            for line in (*report(f"library, {where}", lib), *report(f"raw, {where}", raw)):
                print(line)
            print(f"  ratio, {where}: {lib['total'][1] / raw['total'][1]:.2f}")


if __name__ == "__main__":
    main()
