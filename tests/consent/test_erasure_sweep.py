"""Erasure leaves nothing of the person anywhere in the store.

One person with a full history (a social handle, two phones and an email, consent
granted and revoked, an intro, a reply, an agent's text, a merge and its undo, a
merge proposal, a pending verification, an unlink) is erased; then every table of
the SQLite database (enumerated from ``sqlite_master``) and every structure of the
``MemoryStore`` is read for their addresses, in any spelling, and their texts.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path

import pytest
from pydantic import BaseModel

from escalate import (
    ConcurrentUpdate,
    Escalator,
    Identity,
    InboundMessage,
    InvalidInput,
    LinkSource,
    UnmergeNotPossible,
    VerificationFailed,
    Workflow,
)
from escalate.store import Changes, MemoryStore, OutboxItem, SQLiteStore, Store
from escalate.store._decoded import Decoded
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")
WORK_PHONE = Identity.phone("+14155550123")
EMAIL = Identity.email("Jane.Doe@Example.com")
HANDLE = "jane_d"
REPLY = "the parcel tracking says ZX99187 delivered"
AGENT_TEXT = "Jane, your refund of $20 for ZX99187 is on its way."

#: Every spelling of the person's numbers a store could hold.
NUMBER_SPELLINGS = [
    spelling
    for national in ("4155550100", "4155550123")
    for spelling in (
        national,
        f"({national[:3]}) {national[3:6]}-{national[6:]}",
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
        f"{national[:3]} {national[3:6]} {national[6:]}",
        f"{national[:3]}.{national[3:6]}.{national[6:]}",
    )
]


@dataclasses.dataclass
class Person:
    """What the scenario left behind: the ids to act on after erasure, the texts to look for."""

    contact_id: str
    other_id: str
    merge_id: str
    proposal_id: str
    challenge_id: str
    code: str
    needles: list[str]


def _history(esc: Escalator, clock: FakeClock, sms: MemoryTransport) -> Person:
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    contact_id = handoff.contact_id
    assert contact_id is not None
    intro = sms.sent[0].body
    clock.advance(minutes=2)
    esc.inbound(InboundMessage(channel="sms", sender=PHONE, body=REPLY, received_at=clock.now()))
    clock.advance(minutes=2)
    esc.send_message(handoff.id, AGENT_TEXT)
    esc.contacts.link(contact_id, EMAIL, LinkSource.CUSTOMER_PROVIDED)
    esc.consent.grant(EMAIL, EMAIL_CONSENT, handoff_id=handoff.id)
    esc.contacts.link(contact_id, WORK_PHONE, LinkSource.AGENT_ENTERED)
    clock.advance(minutes=1)
    esc.contacts.unlink(contact_id, WORK_PHONE, actor="agent:7")
    other = esc.contacts.create(Identity.email("sam@crm.example"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    _, merge = esc.contacts.merge_with_record(other, contact_id, "same person?")
    clock.advance(minutes=1)
    esc.contacts.unmerge(merge.id, actor="agent:7")
    stranger = esc.contacts.create(Identity.email("kim@example.org"), LinkSource.CRM_IMPORT)
    proposal, proposed = esc.contacts.propose(
        esc.contacts.live(contact_id), stranger, PHONE, "identity_claimed_unverified"
    )
    esc.store.commit(proposed)
    challenge = esc.contacts.start_verification(contact_id, EMAIL)
    clock.advance(minutes=1)
    esc.inbound(InboundMessage(channel="sms", sender=PHONE, body="STOP", received_at=clock.now()))
    needles = [
        PHONE.value,
        WORK_PHONE.value,
        *NUMBER_SPELLINGS,
        EMAIL.value,
        HANDLE,
        make_thread(clock).text,
        intro,
        REPLY,
        AGENT_TEXT,
        "ZX99187",
        WEB_FORM_CONSENT.ip or "",
    ]
    return Person(
        contact_id=contact_id,
        other_id=other.id,
        merge_id=merge.id,
        proposal_id=proposal.id,
        challenge_id=challenge.id,
        code=challenge.code,
        needles=needles,
    )


# -- reading every place a store keeps text ----------------------------------------


def _sqlite_texts(path: Path) -> Iterator[tuple[str, str]]:
    """``(table.column, text)`` of every text value of every row of every table."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        assert "contact_merges" in tables
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # names from the schema
            columns = [column[0] for column in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    if isinstance(text, str):
                        yield f"{table}.{column}", text
    finally:
        conn.close()


_SCALARS = (int, float, bool, datetime, date, timedelta, type(None))
_LOCKS = (type(threading.Lock()), type(threading.RLock()))


def _memory_texts(value: object, where: str) -> Iterator[tuple[str, str]]:
    """Every string reachable from ``value``; an unknown kind of object fails the test."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Enum):
        yield where, str(value.value)
    elif isinstance(value, BaseModel):
        yield from _memory_texts(value.model_dump(mode="json"), where)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield from _memory_texts(dataclasses.asdict(value), where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _memory_texts(key, f"{where}[key]")
            yield from _memory_texts(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _memory_texts(item, where)
    elif not isinstance(value, _SCALARS + _LOCKS):
        raise AssertionError(f"{where}: cannot read a {type(value).__name__}")


def _store_texts(store: Store, path: Path) -> Iterator[tuple[str, str]]:
    if isinstance(store, SQLiteStore):
        yield from _sqlite_texts(path)
        # And what the open store keeps decoded in memory: the process outlives the erasure.
        for name, value in vars(store).items():
            if isinstance(value, Decoded):
                for text, record in value.remembered():
                    yield f"{name}[text]", text
                    yield from _memory_texts(record, name)
    else:
        assert isinstance(store, MemoryStore)
        for name, value in vars(store).items():
            yield from _memory_texts(value, name)


def _found(store: Store, path: Path, needles: list[str]) -> set[str]:
    """``where: needle`` for each needle some stored text still holds (case aside)."""
    wanted = [needle.lower() for needle in needles if needle]
    return {
        f"{where}: {needle}"
        for where, text in _store_texts(store, path)
        for needle in wanted
        if needle in text.lower()
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "escalate.db"  # where conftest's make_store puts the SQLite store


def test_the_scan_sees_the_person_before_erasure(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport, db_path: Path
) -> None:
    """Guard for the scan itself: before erasure every kind of datum is found."""
    person = _history(esc, clock, sms)
    found = " ".join(_found(store, db_path, person.needles))
    for needle in (PHONE.value, WORK_PHONE.value, EMAIL.value, HANDLE, AGENT_TEXT, "ZX99187"):
        assert needle.lower() in found


def test_erasure_leaves_nothing_of_the_person_in_any_table(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport, db_path: Path
) -> None:
    """Merges' snapshots, proposals and challenges held the person's addresses after erasure."""
    person = _history(esc, clock, sms)
    esc.consent.erase(person.contact_id)
    leaks = sorted(_found(store, db_path, person.needles))
    assert not leaks, "\n".join(leaks)
    assert esc.verify_log().ok


def test_after_erasure_the_persons_records_give_nothing_back(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport, db_path: Path
) -> None:
    """An undo, a merge, a pending code and an open proposal touch nothing of the person."""
    person = _history(esc, clock, sms)
    esc.consent.erase(person.contact_id)
    with pytest.raises(UnmergeNotPossible):
        esc.contacts.unmerge(person.merge_id)
    merge = esc.contacts.get_merge(person.merge_id)
    crm = Identity.email("sam@crm.example")
    assert {merge.survivor_id: merge.survivor_before, merge.absorbed_id: merge.absorbed_before}[
        person.other_id
    ].identities == (crm,)  # the other side keeps its own
    with pytest.raises(VerificationFailed) as refused:
        esc.contacts.confirm_code(person.challenge_id, person.code)
    assert refused.value.reason == "erased"
    proposal = store.get_merge_proposal(esc.tenant, person.proposal_id)
    assert proposal is not None
    assert (proposal.status.value, proposal.identity) == ("rejected", None)
    with pytest.raises(InvalidInput):
        esc.contacts.accept_proposal(person.proposal_id)
    survivor = esc.contacts.merge(person.contact_id, person.other_id, "same person after all")
    assert survivor.identities == (crm,)
    assert [esc.contacts.resolve(a) for a in (PHONE, WORK_PHONE, EMAIL)] == [None] * 3
    # The number comes back: a new code is issued (the erased ones count no more).
    assert esc.contacts.start_verification(survivor, EMAIL).identity == EMAIL
    leaks = sorted(_found(store, db_path, [n for n in person.needles if n != EMAIL.value]))
    assert not leaks, "\n".join(leaks)
    erased = [e for e in esc.store.events(esc.tenant) if e.kind == "contact.erased"]
    assert erased[0].data["merges"] == 1
    assert (erased[0].data["merge_proposals"], erased[0].data["verifications"]) == (1, 1)
    assert esc.verify_log().ok


def test_undoing_a_merge_into_an_erased_person_restores_nothing(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport, db_path: Path
) -> None:
    """A contact merged into the person is the person: an undo after erasure brings back an
    empty contact, not the addresses the merge's snapshot held."""
    older = esc.contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    survivor, merge = esc.contacts.merge_with_record(older, handoff.contact_id, "same person")
    esc.consent.erase(survivor.id)
    root, restored = esc.contacts.unmerge(merge.id)
    assert (root.links, root.unlinked, restored.links, restored.unlinked) == ((), (), (), ())
    leaks = sorted(_found(store, db_path, [PHONE.value, EMAIL.value, HANDLE]))
    assert not leaks, "\n".join(leaks)
    assert esc.verify_log().ok


def _file_bytes(db_path: Path) -> bytes:
    """The database file and its write-ahead log, as a forensic read would see them."""
    return b"".join(
        path.read_bytes()
        for path in (db_path, db_path.with_name(db_path.name + "-wal"))
        if path.exists()
    )


def test_erasure_leaves_nothing_of_the_person_in_the_sqlite_files(
    clock: FakeClock, sms: MemoryTransport, tmp_path: Path
) -> None:
    """Deleted rows stayed readable in free pages, and earlier page images in the
    write-ahead log, until a checkpoint: the file still held the person's number,
    email and messages after erasure. ``secure_delete`` and ``SQLiteStore.erasing`` clear both."""
    db_path = tmp_path / "files.db"
    store = SQLiteStore(db_path)
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    person = _history(esc, clock, sms)
    needles = [
        PHONE.value,
        WORK_PHONE.value,
        EMAIL.value.lower(),
        HANDLE,
        REPLY,
        AGENT_TEXT,
        "ZX99187",
    ]
    before = _file_bytes(db_path)
    assert all(needle.encode() in before for needle in (PHONE.value, AGENT_TEXT, "ZX99187"))
    esc.consent.erase(person.contact_id)
    after = _file_bytes(db_path)
    assert [n for n in needles if n.encode() in after] == []
    assert esc.verify_log().ok
    store.close()


class _KeepsChanging(MemoryStore):
    """Another writer moves the contact before each of erasure's final commits."""

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if any(event.kind == "contact.erased" for event in changes.events):
            raise ConcurrentUpdate("the contact moved on")
        return super().commit(changes)


def test_an_erasure_that_cannot_commit_says_so(clock: FakeClock, sms: MemoryTransport) -> None:
    """It returned the consent proofs as if done while the contact still held the links."""
    store = _KeepsChanging()
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    person = _history(esc, clock, sms)
    with pytest.raises(ConcurrentUpdate, match="call erase\\(\\) again"):
        esc.consent.erase(person.contact_id)
    assert esc.contacts.get(person.contact_id).links  # not reported as erased
