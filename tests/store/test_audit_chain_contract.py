"""Store contract: every store links audit events into hash chains inside its commit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from escalate import ConcurrentUpdate, Event, Handoff, Identity, Thread
from escalate._ids import new_id
from escalate.audit import BeforeHashing, chain_of, event_hash, verify_chains
from escalate.store import Changes, SQLiteStore, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ev(
    kind: str,
    *,
    handoff_id: str | None = None,
    contact_id: str | None = None,
    tenant: str = "default",
    at: datetime = T0,
    **data: object,
) -> Event:
    return Event(
        id=new_id("ev"),
        tenant=tenant,
        kind=kind,
        at=at,
        handoff_id=handoff_id,
        contact_id=contact_id,
        data=dict(data),
    )


def handoff(handoff_id: str, opened_at: datetime, *, tenant: str = "default") -> Handoff:
    thread = Thread(
        platform="x",
        thread_id=handoff_id,
        author=Identity.social("x", "42"),
        text="late parcel",
        posted_at=opened_at,
    )
    return Handoff(
        id=handoff_id,
        tenant=tenant,
        reference=f"R{handoff_id}-01",
        thread=thread,
        opened_at=opened_at,
        updated_at=opened_at,
    )


def test_commit_sets_prev_hash_and_hash_per_handoff_chain(store: Store) -> None:
    """Each event gets its own hash and the hash of the event before it in its handoff's chain."""
    store.commit(Changes(events=(ev("a", handoff_id="h1"), ev("b", handoff_id="h1"))))
    store.commit(Changes(events=(ev("x", handoff_id="h2"),)))
    store.commit(Changes(events=(ev("c", handoff_id="h1"),)))
    first, second, third = store.events("default", handoff_id="h1")
    assert first.prev_hash is None
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    for event in (first, second, third):
        assert event.hash == event_hash(event.prev_hash, event)
    (other,) = store.events("default", handoff_id="h2")
    assert other.prev_hash is None, "another handoff starts its own chain"


def test_chain_rule_handoff_then_contact_then_tenant(store: Store) -> None:
    """Events without a handoff chain per contact; events with neither chain per tenant."""
    store.commit(
        Changes(
            events=(
                ev("h", handoff_id="h1", contact_id="c1"),
                ev("c", contact_id="c1"),
                ev("t"),
                ev("c2", contact_id="c1"),
                ev("t2"),
            )
        )
    )
    events = {event.kind: event for event in store.events("default")}
    assert chain_of(events["h"]) == "handoff:h1"
    assert events["c2"].prev_hash == events["c"].hash
    assert events["t2"].prev_hash == events["t"].hash
    assert events["c"].prev_hash is None
    assert events["t"].prev_hash is None
    heads = {head.chain: head for head in store.chain_heads("default")}
    assert set(heads) == {"handoff:h1", "contact:c1", "tenant"}
    assert heads["contact:c1"].hash == events["c2"].hash
    assert heads["contact:c1"].length == 2
    assert heads["tenant"].event_id == events["t2"].id


def test_caller_supplied_hashes_are_replaced(store: Store) -> None:
    """A hash or prev_hash set by the caller is ignored: only the store links events."""
    forged = ev("a", handoff_id="h1").model_copy(update={"prev_hash": "f" * 64, "hash": "e" * 64})
    store.commit(Changes(events=(forged,)))
    (stored,) = store.events("default")
    assert stored.prev_hash is None
    assert stored.hash == event_hash(None, stored)


def test_heads_are_per_tenant(store: Store) -> None:
    """Two tenants' tenant-wide chains and heads never mix."""
    store.commit(Changes(events=(ev("a"), ev("b", tenant="other"))))
    assert [h.tenant for h in store.chain_heads("default")] == ["default"]
    (other,) = store.events("other")
    assert other.prev_hash is None
    assert store.chain_heads("other")[0].hash == other.hash


def test_a_new_store_holds_nothing_from_before_hashing(store: Store) -> None:
    """Every event a store writes is hashed: none may pass as written before hashing."""
    store.commit(Changes(events=(ev("a", handoff_id="h1"),)))
    assert store.before_hashing("default") == BeforeHashing(tenant="default")
    assert store.before_hashing("default").events == 0


def test_hash_survives_the_round_trip_for_any_data(store: Store) -> None:
    """Non-ASCII text, nested data, non-UTC times and floats hash the same after reading back."""
    paris = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    event = ev(
        "x",
        handoff_id="h1",
        at=paris,
        note="délai — 遅延",
        nested={"b": [1, 2.5], "a": None},
        when=T0,
        ratio=0.1,
    )
    store.commit(Changes(events=(event,)))
    report = verify_chains("default", store.events("default"), store.chain_heads("default"))
    assert report.ok, report.problems
    assert report.events_verified == 1


def test_a_refused_commit_moves_no_head(store: Store) -> None:
    """When a commit is refused (stale version), neither its events nor a head change is kept."""
    store.commit(Changes(handoffs=(handoff("h1", T0),), events=(ev("a", handoff_id="h1"),)))
    head = store.chain_heads("default")
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(handoffs=(handoff("h1", T0),), events=(ev("b", handoff_id="h1"),)))
    assert store.chain_heads("default") == head
    assert len(store.events("default")) == 1


def test_concurrent_commits_keep_one_unbroken_chain(store: Store) -> None:
    """Threads appending to the same chain at once still produce a single valid chain."""

    def work() -> None:
        for _ in range(25):
            store.commit(Changes(events=(ev("tick", handoff_id="h1"),)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify_chains("default", store.events("default"), store.chain_heads("default"))
    assert report.ok, report.problems
    assert report.events_verified == 100
    assert store.chain_heads("default")[0].length == 100


def test_two_sqlite_connections_share_one_chain(tmp_path: Path) -> None:
    """Two SQLiteStores on one file (like two workers) writing one chain keep it linked."""
    path = tmp_path / "shared.db"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    try:

        def work(target: SQLiteStore) -> None:
            for _ in range(20):
                target.commit(Changes(events=(ev("tick", handoff_id="h1"),)))

        threads = [threading.Thread(target=work, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        report = verify_chains(
            "default", stores[0].events("default"), stores[1].chain_heads("default")
        )
        assert report.ok, report.problems
        assert report.events_verified == 40
    finally:
        for s in stores:
            s.close()


def test_handoffs_opened_filters_by_window(store: Store) -> None:
    """handoffs_opened returns the tenant's handoffs opened in [since, until), oldest first."""
    hour = timedelta(hours=1)
    store.commit(
        Changes(
            handoffs=(
                handoff("h3", T0 + 2 * hour),
                handoff("h1", T0),
                handoff("h2", T0 + hour),
                handoff("hx", T0, tenant="other"),
            )
        )
    )
    ids = [h.id for h in store.handoffs_opened("default")]
    assert ids == ["h1", "h2", "h3"]
    assert [h.id for h in store.handoffs_opened("default", since=T0 + hour)] == ["h2", "h3"]
    assert [h.id for h in store.handoffs_opened("default", until=T0 + hour)] == ["h1"]
    assert [
        h.id for h in store.handoffs_opened("default", since=T0 + hour, until=T0 + 2 * hour)
    ] == ["h2"]
