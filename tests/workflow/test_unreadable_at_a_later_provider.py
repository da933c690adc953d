"""A consent record that no longer reads when a later provider checks again: held as at the first.

Found by a review: with several SMS providers, the consent check is made again
before a later one sends (``NotAllowedNow``). When the ledger row was edited
outside escalate between the two checks, that second check's ``CorruptRecord``
reached the send path as if the transport had raised it: the row was held as
``unexpected:CorruptRecord``, with no record named and no helpdesk notice, where
the first check holds it as ``unreadable_record`` with both. Now either check
holds it the same way, and restored and released it goes once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from escalate import (
    Channel,
    CorruptRecord,
    Escalator,
    Identity,
    OutboundMessage,
    PermanentTransportError,
    SendResult,
    Workflow,
)
from escalate.consent import ConsentProof, ConsentRecord
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify, SendMessage
from tests.conftest import TEST_START, WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550142")


class _EditedLedger(MemoryStore):
    """A memory store whose ledger of one address stops reading once ``broken``."""

    broken = False

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        if self.broken and address == PHONE:
            raise CorruptRecord("consent record", record_id="cr_edited", detail="action: bad")
        return super().consent_history(tenant, address, address_hash)


class _BreaksThenRefuses(MemoryTransport):
    """The first provider: while ``armed``, the ledger is edited as it answers, and it
    refuses the message for good, so the chain goes on to the next provider."""

    def __init__(self, breaks: Callable[[], None]) -> None:
        super().__init__([Channel.SMS], name="a")
        self.breaks = breaks
        self.armed = False

    def send(self, message: OutboundMessage) -> SendResult:
        if self.armed:
            self.armed = False
            self.breaks()
            raise PermanentTransportError("account suspended", provider="a", code="20003")
        return super().send(message)


def _breaking(kind: str, path: Path) -> tuple[Store, Callable[[], None], Callable[[], None]]:
    """A store, a way to edit its ledger row of ``PHONE`` so that it no longer reads,
    and a way to restore it from a backup."""
    if kind == "memory":
        memory = _EditedLedger()

        def flip(broken: bool) -> Callable[[], None]:
            return lambda: setattr(memory, "broken", broken)

        return memory, flip(True), flip(False)
    saved: list[tuple[str, str]] = []

    def edit(sql: str, *params: str) -> list[tuple[str, str]]:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(sql, params).fetchall()
        conn.close()
        return rows

    def corrupt() -> None:
        saved[:] = edit("SELECT id, data FROM consent_records WHERE address = ?", PHONE.value)
        edit("UPDATE consent_records SET data = 'not json {' WHERE id = ?", saved[0][0])

    def restore() -> None:
        edit("UPDATE consent_records SET data = ? WHERE id = ?", saved[0][1], saved[0][0])

    return SQLiteStore(path), corrupt, restore


def _held_at(kind: str, path: Path, *, later: bool) -> tuple[dict[str, object], str, list[str]]:
    """Run a case's intro with its ledger broken before the first check (or between
    the first and the second provider's); return the held event's data and the
    notice (row id and reference made generic), and what went once released."""
    store, corrupt, restore = _breaking(kind, path)
    clock = FakeClock(TEST_START)
    first = _BreaksThenRefuses(corrupt)
    second = MemoryTransport([Channel.SMS], name="b")
    notices: list[Notify] = []
    esc = Escalator(
        store,
        transports=[first, second],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        notifier=lambda _handoff, notify: notices.append(notify),
    )
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    (row,) = [r for r in esc.store.outbox(esc.tenant) if isinstance(r.command, SendMessage)]
    if later:
        first.armed = True
    else:
        corrupt()
    report = esc.run_due()
    assert report.held == 1
    assert esc.outbox.get(row.id).status is OutboxStatus.HELD
    assert (first.sent, second.sent) == ([], [])  # nothing went: held, never sent twice
    (event,) = [e for e in esc.history(case.id) if e.kind == "message.held"]
    assert event.data["reason"] == "unreadable_record"
    (notice,) = notices
    reference = esc.handoffs.get(case.id).reference
    restore()
    record_id = str(event.data["record_id"])
    assert record_id in {"cr_edited", *(r.id for r in esc.consent.records(PHONE))}
    esc.outbox.release(row.id)
    esc.run_due()
    sent = ["a"] * len(first.sent) + ["b"] * len(second.sent)
    esc.close()
    data = {k: v for k, v in event.data.items() if k not in {"outbox_id", "record_id"}}
    text = notice.text.replace(row.id, "ROW").replace(reference, "REF").replace(record_id, "REC")
    return data, f"{notice.topic}: {text}", sent


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_later_providers_check_holds_an_unreadable_record_as_the_first_check_does(
    kind: str, tmp_path: Path
) -> None:
    """Same reason, same event data (the record named by id), same helpdesk notice;
    restored and released, the text goes once."""
    data, notice, sent = _held_at(kind, tmp_path / "later.db", later=True)
    expected, expected_notice, _ = _held_at(kind, tmp_path / "first.db", later=False)
    assert data["reason"] == "unreadable_record"
    assert data["record"] == "consent record"
    assert data == expected
    assert notice == expected_notice
    assert notice.startswith("unreadable_record: ")
    assert sent == ["a"]
