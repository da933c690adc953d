"""Identity resolve and merge speed, on MemoryStore and SQLiteStore.

Builds N identities across M contacts (default 1,000,000 across 400,000), then
times ``esc.contacts.resolve`` (the library path: ContactBook -> store -> Contact)
for random identities, next to a raw baseline in the same process (a dict lookup
for memory, one indexed SELECT for SQLite), and ``merge`` of two 10-identity
contacts (validation, merge record, audit events, one commit).

Setup is bulk (one commit for memory, executemany in one transaction for SQLite)
and is not measured.

    .venv/bin/python bench/identity_resolve.py                      # full size
    .venv/bin/python bench/identity_resolve.py --identities 20000 --contacts 8000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from escalate import Contact, Identity, IdentityKind, Link, LinkSource
from escalate.identity import ContactBook
from escalate.store import Changes, MemoryStore, SQLiteStore, Store
from escalate.testing import FakeClock

AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
TENANT = "default"


def make_identity(n: int) -> Identity:
    """The n-th identity: a mix of phones, emails and X accounts (construct skips parsing)."""
    kind = n % 3
    if kind == 0:
        return Identity.model_construct(kind=IdentityKind.PHONE, value=f"+1415{n:07d}")
    if kind == 1:
        return Identity.model_construct(kind=IdentityKind.EMAIL, value=f"user{n}@example.com")
    return Identity.model_construct(kind=IdentityKind.SOCIAL, value=f"x:{n}", handle=None)


def make_contact(cid: str, identities: Sequence[Identity], created: datetime = AT) -> Contact:
    links = tuple(
        Link.model_construct(
            identity=i,
            source=LinkSource.CRM_IMPORT,
            verified=False,
            confidence=1.0,
            at=AT,
            actor="bench",
            verified_at=None,
            origin=None,
        )
        for i in identities
    )
    return Contact.model_construct(
        id=cid, tenant=TENANT, links=links, created_at=created, merged_into=None, version=1
    )


def build_contacts(identities: int, contacts: int) -> tuple[list[Contact], dict[Identity, str]]:
    """``contacts`` contacts sharing ``identities`` identities round-robin."""
    groups: list[list[Identity]] = [[] for _ in range(contacts)]
    owner: dict[Identity, str] = {}
    for n in range(identities):
        identity = make_identity(n)
        groups[n % contacts].append(identity)
        owner[identity] = f"ct_{n % contacts:08d}"
    return [make_contact(f"ct_{i:08d}", group) for i, group in enumerate(groups)], owner


def merge_pairs(count: int, start: int) -> list[tuple[Contact, Contact]]:
    """``count`` pairs of fresh 10-identity contacts, with identities not used elsewhere."""
    pairs = []
    for p in range(count):
        base = start + p * 20
        a = make_contact(f"mga_{p:06d}", [make_identity(base + k) for k in range(10)])
        b = make_contact(f"mgb_{p:06d}", [make_identity(base + 10 + k) for k in range(10)])
        pairs.append((a, b))
    return pairs


def bulk_sqlite(store: SQLiteStore, contacts: Sequence[Contact]) -> None:
    """Insert contacts and their identity index rows in one transaction (setup only)."""
    conn = store._conn
    with store._transaction():
        conn.executemany(
            "INSERT INTO contacts (tenant, id, version, merged_into, data)"
            " VALUES (?, ?, 1, NULL, ?)",
            ((c.tenant, c.id, c.model_dump_json()) for c in contacts),
        )
        conn.executemany(
            "INSERT INTO contact_identities (tenant, kind, value, contact_id) VALUES (?, ?, ?, ?)",
            ((c.tenant, i.kind.value, i.value, c.id) for c in contacts for i in c.identities),
        )


def timed(calls: Sequence[Callable[[], Any]]) -> list[float]:
    """Microseconds per call."""
    out = []
    clock = time.perf_counter_ns
    for call in calls:
        t0 = clock()
        call()
        out.append((clock() - t0) / 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_store(
    name: str,
    store: Store,
    owner: dict[Identity, str],
    sample: list[Identity],
    pairs: list[tuple[Contact, Contact]],
    raw: Callable[[Identity], object],
) -> dict[str, float]:
    book = ContactBook(store, tenant=TENANT, clock=FakeClock())
    for identity in sample[:200]:  # correctness first: every sampled identity resolves right
        found = book.resolve(identity)
        assert found is not None, identity
        assert found.id == owner[identity], identity
    lib = timed([lambda i=i: book.resolve(i) for i in sample])
    base = timed([lambda i=i: raw(i) for i in sample])
    # The first merges build pydantic serializers and warm caches: not what a merge costs.
    warm, pairs = pairs[:3], pairs[3:]
    timed([lambda a=a, b=b: book.merge(a.id, b.id, "bench") for a, b in warm])
    merges = timed([lambda a=a, b=b: book.merge(a.id, b.id, "bench") for a, b in pairs])
    merged = book.resolve(pairs[-1][1].identities[0])
    assert merged is not None
    assert len(merged.links) == 20
    figures = {
        "resolve_p50_us": statistics.median(lib),
        "resolve_p99_us": pct(lib, 0.99),
        "raw_p50_us": statistics.median(base),
        "raw_p99_us": pct(base, 0.99),
        "merge_p50_us": statistics.median(merges),
        "merge_p99_us": pct(merges, 0.99),
    }
    print(
        f"{name:7} resolve p50 {figures['resolve_p50_us']:7.1f} us"
        f"  p99 {figures['resolve_p99_us']:7.1f} us"
        f"  | raw p50 {figures['raw_p50_us']:6.1f} us  p99 {figures['raw_p99_us']:6.1f} us"
        f"  (x{figures['resolve_p50_us'] / figures['raw_p50_us']:.1f} at p50)"
        f"  | merge 10+10 p50 {figures['merge_p50_us']:7.1f} us"
        f"  p99 {figures['merge_p99_us']:7.1f} us"
    )
    return figures


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identities", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=400_000)
    parser.add_argument("--samples", type=int, default=20_000, help="resolves timed per store")
    parser.add_argument("--merges", type=int, default=200, help="merges timed per store")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.identities < args.contacts or args.merges < 4:
        parser.error("need identities >= contacts >= 1 and merges >= 4")

    t0 = time.perf_counter()
    contacts, owner = build_contacts(args.identities, args.contacts)
    rng = random.Random(7)
    keys = list(owner)
    sample = [keys[rng.randrange(len(keys))] for _ in range(args.samples)]
    print(
        f"{args.identities:,} identities across {args.contacts:,} contacts;"
        f" {args.samples:,} resolves and {args.merges} merges of 10+10 identities per store"
        f" (built in {time.perf_counter() - t0:.1f} s)"
    )
    results = {}

    memory = MemoryStore()
    memory.commit(Changes(contacts=contacts))
    memory.commit(
        Changes(contacts=[c for pair in merge_pairs(args.merges, args.identities) for c in pair])
    )
    index = {(TENANT, i.kind.value, i.value): owner[i] for i in owner}
    results["memory"] = run_store(
        "memory",
        memory,
        owner,
        sample,
        merge_pairs(args.merges, args.identities),
        lambda i: index[(TENANT, i.kind.value, i.value)],
    )
    memory.close()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        sqlite = SQLiteStore(path)
        pairs = merge_pairs(args.merges, args.identities)
        bulk_sqlite(sqlite, [*contacts, *(c for pair in pairs for c in pair)])
        sqlite._conn.execute("ANALYZE")
        conn = sqlite._conn

        def raw(identity: Identity) -> object:
            return conn.execute(
                "SELECT contact_id FROM contact_identities"
                " WHERE tenant = ? AND kind = ? AND value = ?",
                (TENANT, identity.kind.value, identity.value),
            ).fetchone()

        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT c.data FROM contact_identities i JOIN contacts c"
            " ON c.tenant = i.tenant AND c.id = i.contact_id"
            " WHERE i.tenant = ? AND i.kind = ? AND i.value = ?",
            (TENANT, "email", "x"),
        ).fetchall()
        print("sqlite resolve plan:", "; ".join(str(row[-1]) for row in plan))
        results["sqlite"] = run_store("sqlite", sqlite, owner, sample, pairs, raw)
        sqlite.close()
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
