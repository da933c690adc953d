"""verify_log finds edited, deleted, inserted and reordered events, on SQLite and in memory."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from escalate import (
    Channel,
    Escalator,
    Event,
    Identity,
    InboundMessage,
    InvalidInput,
    NotFound,
    Workflow,
)
from escalate._ids import new_id
from escalate.audit import ProblemKind, event_hash, verify_chains
from escalate.store import MemoryStore, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread


class Tamper(Protocol):
    """Edits a store's audit log behind its back, the way an intruder with file access would."""

    def edit(self, event_id: str, **data: object) -> None: ...
    def delete(self, event_id: str) -> None: ...
    def swap(self, first_id: str, second_id: str) -> None: ...
    def insert_after(self, event_id: str, forged: Event) -> None: ...
    def delete_head(self, chain: str) -> None: ...
    def insert_first(self, forged: Event) -> None: ...
    def strip_hashes(self, handoff_id: str) -> None: ...


class SQLiteTamper:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)

    def _seq(self, event_id: str) -> int:
        return int(
            self.conn.execute("SELECT seq FROM events WHERE id = ?", (event_id,)).fetchone()[0]
        )

    def edit(self, event_id: str, **data: object) -> None:
        row = self.conn.execute("SELECT data FROM events WHERE id = ?", (event_id,)).fetchone()
        content = json.loads(row[0])
        content["data"].update(data)
        self.conn.execute(
            "UPDATE events SET data = ? WHERE id = ?", (json.dumps(content), event_id)
        )

    def delete(self, event_id: str) -> None:
        self.conn.execute("DELETE FROM events WHERE id = ?", (event_id,))

    def swap(self, first_id: str, second_id: str) -> None:
        first, second = self._seq(first_id), self._seq(second_id)
        self.conn.execute("UPDATE events SET seq = -1 WHERE seq = ?", (first,))
        self.conn.execute("UPDATE events SET seq = ? WHERE seq = ?", (first, second))
        self.conn.execute("UPDATE events SET seq = ? WHERE seq = -1", (second,))

    def insert_after(self, event_id: str, forged: Event) -> None:
        # Make room right after the event, as an intruder would, then write the row.
        seq = self._seq(event_id)
        self.conn.execute("UPDATE events SET seq = -seq - 1 WHERE seq > ?", (seq,))
        self.conn.execute("UPDATE events SET seq = -seq WHERE seq < 0")
        self.conn.execute(
            "INSERT INTO events (seq, id, tenant, kind, at, handoff_id, contact_id, data,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq + 1,
                forged.id,
                forged.tenant,
                forged.kind,
                forged.at.isoformat(),
                forged.handoff_id,
                forged.contact_id,
                forged.model_dump_json(exclude={"seq", "prev_hash", "hash"}),
                forged.prev_hash,
                forged.hash,
            ),
        )

    def delete_head(self, chain: str) -> None:
        self.conn.execute("DELETE FROM audit_chain_heads WHERE chain = ?", (chain,))

    def insert_first(self, forged: Event) -> None:
        # seq 0 sorts before every row the store wrote (its rowids start at 1).
        self.conn.execute(
            "INSERT INTO events (seq, id, tenant, kind, at, handoff_id, contact_id, data)"
            " VALUES (0, ?, ?, ?, ?, ?, ?, ?)",
            (
                forged.id,
                forged.tenant,
                forged.kind,
                forged.at.isoformat(),
                forged.handoff_id,
                forged.contact_id,
                forged.model_dump_json(exclude={"seq", "prev_hash", "hash"}),
            ),
        )

    def strip_hashes(self, handoff_id: str) -> None:
        self.conn.execute(
            "UPDATE events SET prev_hash = NULL, hash = NULL WHERE handoff_id = ?", (handoff_id,)
        )


class MemoryTamper:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _index(self, event_id: str) -> int:
        return next(i for i, e in enumerate(self.store._events) if e.id == event_id)

    def edit(self, event_id: str, **data: object) -> None:
        index = self._index(event_id)
        event = self.store._events[index]
        self.store._events[index] = event.model_copy(update={"data": {**event.data, **data}})

    def delete(self, event_id: str) -> None:
        del self.store._events[self._index(event_id)]

    def swap(self, first_id: str, second_id: str) -> None:
        i, j = self._index(first_id), self._index(second_id)
        events = self.store._events
        a, b = events[i], events[j]
        events[i] = b.model_copy(update={"seq": a.seq})
        events[j] = a.model_copy(update={"seq": b.seq})

    def insert_after(self, event_id: str, forged: Event) -> None:
        index = self._index(event_id)
        events = self.store._events
        seq = events[index].seq or 0
        for later in range(index + 1, len(events)):
            events[later] = events[later].model_copy(update={"seq": (events[later].seq or 0) + 1})
        events.insert(index + 1, forged.model_copy(update={"seq": seq + 1}))

    def delete_head(self, chain: str) -> None:
        del self.store._chain_heads[("default", chain)]

    def insert_first(self, forged: Event) -> None:
        self.store._events.insert(0, forged.model_copy(update={"seq": 0}))

    def strip_hashes(self, handoff_id: str) -> None:
        self.store._events[:] = [
            event.model_copy(update={"prev_hash": None, "hash": None})
            if event.handoff_id == handoff_id
            else event
            for event in self.store._events
        ]


def sqlite_escalator(path: Path, clock: FakeClock) -> Escalator:
    """An escalator on an SQLite file the test then edits behind its back."""
    return Escalator(
        SQLiteStore(path),
        transports=[MemoryTransport()],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
    )


def run_handoffs(esc: Escalator, clock: FakeClock) -> list[str]:
    """Two interleaved handoffs through the default workflow; returns their ids."""
    first = esc.open(make_thread(clock, "1001", "42"))
    second = esc.open(make_thread(clock, "1002", "43"))
    clock.advance(minutes=5)
    phone = Identity.phone("(415) 555-0100", region="US")
    esc.contact_provided(first.id, phone, consent=WEB_FORM_CONSENT)
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=phone, body="thanks", received_at=clock.now())
    )
    clock.advance(minutes=5)
    esc.resolve(second.id)
    esc.resolve(first.id)
    return [first.id, second.id]


@pytest.fixture(params=["memory", "sqlite"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Escalator, Tamper, list[str]]]:
    clock = FakeClock()
    store: Store
    tamper: Tamper
    if request.param == "memory":
        store = MemoryStore()
        tamper = MemoryTamper(store)
    else:
        store = SQLiteStore(tmp_path / "escalate.db")
        tamper = SQLiteTamper(tmp_path / "escalate.db")
    esc = Escalator(
        store,
        transports=[MemoryTransport()],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
    )
    ids = run_handoffs(esc, clock)
    yield esc, tamper, ids
    esc.close()


def kinds(esc: Escalator) -> list[ProblemKind]:
    return [problem.kind for problem in esc.verify_log().problems]


def test_an_untouched_log_verifies(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """A log written only through the store has no problems, and every event is checked."""
    esc, _, (first, second) = setup
    report = esc.verify_log()
    assert report.ok, report.problems
    assert report.events_verified == len(esc.store.events("default"))
    assert report.events_before_hashing == 0
    assert {head.chain for head in report.heads} >= {f"handoff:{first}", f"handoff:{second}"}
    assert esc.verify_log(handoff_id=first).chains == 1


def test_verify_log_refuses_a_bad_handoff_id(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """verify_log(handoff_id=...) with a non-string or an unknown id raises a typed error."""
    esc, _, _ = setup
    with pytest.raises(InvalidInput):
        esc.verify_log(handoff_id=42)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        esc.verify_log(handoff_id="ho_nope")


def test_an_edited_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Changing an event's recorded data is reported as EDITED at that event."""
    esc, tamper, (first, _) = setup
    target = esc.history(first)[3]
    tamper.edit(target.id, reason="nothing to see")
    (problem,) = esc.verify_log().problems
    assert problem.kind is ProblemKind.EDITED
    assert problem.event_id == target.id
    assert problem.chain == f"handoff:{first}"


def test_a_deleted_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Deleting an event in the middle of a chain is reported as MISSING at its successor."""
    esc, tamper, (first, _) = setup
    history = esc.history(first)
    tamper.delete(history[4].id)
    (problem,) = esc.verify_log().problems
    assert problem.kind is ProblemKind.MISSING
    assert problem.event_id == history[5].id


def test_a_deleted_first_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Deleting a chain's first event leaves the next one pointing at nothing."""
    esc, tamper, (first, _) = setup
    history = esc.history(first)
    tamper.delete(history[0].id)
    assert kinds(esc) == [ProblemKind.MISSING]


def test_a_deleted_last_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Deleting a chain's newest events is caught by the recorded chain head."""
    esc, tamper, (first, _) = setup
    history = esc.history(first)
    tamper.delete(history[-1].id)
    tamper.delete(history[-2].id)
    (problem,) = esc.verify_log().problems
    assert problem.kind is ProblemKind.HEAD_MISMATCH
    assert "deleted" in problem.detail


def test_a_deleted_head_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Removing the chain head itself (to hide a tail deletion) leaves the chain unanchored."""
    esc, tamper, (first, _) = setup
    tamper.delete(esc.history(first)[-1].id)
    tamper.delete_head(f"handoff:{first}")
    assert kinds(esc) == [ProblemKind.UNANCHORED]


def test_a_deleted_whole_chain_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Deleting every event of a handoff leaves a head with nothing under it."""
    esc, tamper, (_, second) = setup
    for event in esc.history(second):
        tamper.delete(event.id)
    assert kinds(esc) == [ProblemKind.HEAD_MISMATCH]


def test_reordered_events_are_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """Swapping the log positions of two events of one chain is reported as OUT_OF_ORDER."""
    esc, tamper, (first, _) = setup
    history = esc.history(first)
    tamper.swap(history[2].id, history[3].id)
    problems = esc.verify_log().problems
    assert problems
    assert {problem.kind for problem in problems} == {ProblemKind.OUT_OF_ORDER}


def test_an_inserted_event_with_a_valid_hash_is_found(
    setup: tuple[Escalator, Tamper, list[str]],
) -> None:
    """A forged event hashed onto its predecessor still breaks the link of the event after it."""
    esc, tamper, (first, _) = setup
    history = esc.history(first)
    before = history[3]
    forged = Event(
        id=new_id("ev"),
        kind="message.sent",
        at=before.at,
        handoff_id=first,
        contact_id=before.contact_id,
        data={"to": "+1415***0100"},
    )
    forged = forged.model_copy(
        update={"prev_hash": before.hash, "hash": event_hash(before.hash, forged)}
    )
    tamper.insert_after(before.id, forged)
    (problem,) = esc.verify_log().problems
    assert problem.kind is ProblemKind.OUT_OF_ORDER
    assert problem.event_id == history[4].id


def test_an_inserted_unhashed_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """An event written around the store, without a hash, is reported as UNHASHED."""
    esc, tamper, (first, _) = setup
    before = esc.history(first)[2]
    forged = Event(id=new_id("ev"), kind="note", at=before.at, handoff_id=first)
    tamper.insert_after(before.id, forged)
    assert kinds(esc) == [ProblemKind.UNHASHED]


def test_an_unhashed_event_before_a_chain_start_is_found(
    setup: tuple[Escalator, Tamper, list[str]],
) -> None:
    """A store that never held unhashed events takes none as 'from before hashing'."""
    esc, tamper, (first, _) = setup
    opened = esc.history(first)[0]
    forged = Event(
        id=new_id("ev"),
        kind="handoff.transition",
        at=opened.at,
        handoff_id=first,
        actor="agent",
        data={"from": "opened", "to": "resolved", "reason": "customer was rude"},
    )
    tamper.insert_first(forged)
    report = esc.verify_log()
    assert [problem.kind for problem in report.problems] == [ProblemKind.UNHASHED]
    assert report.problems[0].event_id == forged.id
    assert report.events_before_hashing == 0


def test_a_chain_stripped_of_its_hashes_and_head_is_found(
    setup: tuple[Escalator, Tamper, list[str]],
) -> None:
    """Removing every hash of a chain and its head does not pass it off as a pre-hashing log."""
    esc, tamper, (first, _) = setup
    tamper.strip_hashes(first)
    tamper.delete_head(f"handoff:{first}")
    problems = esc.verify_log().problems
    assert problems
    assert {problem.kind for problem in problems} == {ProblemKind.UNHASHED}


def test_an_appended_event_is_found(setup: tuple[Escalator, Tamper, list[str]]) -> None:
    """An event appended after the head, even correctly hashed, does not match the recorded head."""
    esc, tamper, (first, _) = setup
    last = esc.history(first)[-1]
    forged = Event(id=new_id("ev"), kind="note", at=last.at, handoff_id=first)
    forged = forged.model_copy(
        update={"prev_hash": last.hash, "hash": event_hash(last.hash, forged)}
    )
    tamper.insert_after(last.id, forged)
    (problem,) = esc.verify_log().problems
    assert problem.kind is ProblemKind.HEAD_MISMATCH
    assert "appended" in problem.detail


def test_a_rewritten_tail_is_caught_by_an_exported_head(
    setup: tuple[Escalator, Tamper, list[str]],
) -> None:
    """Deleting the tail and moving the head too escapes the store, not a head kept elsewhere."""
    esc, tamper, (first, _) = setup
    exported = esc.verify_log().heads  # e.g. shipped to a log service every night
    history = esc.history(first)
    tamper.delete(history[-1].id)
    if isinstance(tamper, SQLiteTamper):
        tamper.conn.execute(
            "UPDATE audit_chain_heads SET hash = ?, event_id = ?, length = length - 1"
            " WHERE chain = ?",
            (history[-2].hash, history[-2].id, f"handoff:{first}"),
        )
    else:
        key = ("default", f"handoff:{first}")
        head = tamper.store._chain_heads[key]
        tamper.store._chain_heads[key] = head.model_copy(
            update={"hash": history[-2].hash, "event_id": history[-2].id, "length": head.length - 1}
        )
    assert esc.verify_log().ok, "the store alone cannot see a consistent rewrite"
    against_export = verify_chains("default", esc.store.events("default"), exported)
    assert [p.kind for p in against_export.problems] == [ProblemKind.HEAD_MISMATCH]
