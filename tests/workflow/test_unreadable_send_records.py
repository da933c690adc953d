"""An unreadable contact or consent record holds the one send that needs it, nothing else.

Found by a review: a contact or consent ledger row edited outside escalate (so
that it no longer decodes) raised ``CorruptRecord`` out of ``run_due()`` when the
send to that address read it, so every other due row behind it waited, on every
cycle, and ``esc.worker()`` ended on it. Now the send that needs the record is
held (consent unread is consent not given: it is never sent on a guess), with a
``message.held`` event and a helpdesk notice naming the record by its id, and
the run goes on. Restored, an operator releases the row and it goes once.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from escalate import CorruptRecord, Escalator, Identity, InboundMessage, Workflow
from escalate.consent import ConsentProof, ConsentRecord
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify, SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread, sql_rows

CASES = 3
PHONE = "+1415555014{n}"


def _desk(
    path: Path, clock: FakeClock, sms: MemoryTransport, notices: list[Notify], concurrency: int
) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        concurrency=concurrency,
        notifier=lambda _handoff, notify: notices.append(notify),
    )


def _cases(esc: Escalator, clock: FakeClock) -> list[str]:
    ids = []
    for n in range(CASES):
        case = esc.open(make_thread(clock, thread_id=str(n), user_id=str(100 + n)))
        esc.contact_provided(case.id, Identity.phone(PHONE.format(n=n)), consent=WEB_FORM_CONSENT)
        ids.append(case.id)
    return ids


def _intro(esc: Escalator, handoff_id: str) -> str:
    (row,) = [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff_id)
        if isinstance(row.command, SendMessage)
    ]
    return row.id


def _break_contact(path: Path, esc: Escalator, handoff_id: str) -> tuple[str, str, str]:
    contact_id = esc.handoffs.get(handoff_id).contact_id
    assert contact_id is not None
    ((text,),) = sql_rows(path, "SELECT data FROM contacts WHERE id = ?", contact_id)
    # A wrong type in a field, as a hand edit leaves it: still JSON, no longer a contact.
    sql_rows(
        path,
        "UPDATE contacts SET data = json_set(data, '$.links', 'oops') WHERE id = ?",
        contact_id,
    )
    return "contacts", contact_id, str(text)


def _break_consent(path: Path, esc: Escalator, handoff_id: str) -> tuple[str, str, str]:
    del esc, handoff_id
    ((record_id, text),) = sql_rows(
        path, "SELECT id, data FROM consent_records WHERE address = ?", PHONE.format(n=0)
    )
    sql_rows(path, "UPDATE consent_records SET data = ? WHERE id = ?", "not json {", record_id)
    return "consent_records", str(record_id), str(text)


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(
    ("breaks", "record"), [(_break_contact, "contact"), (_break_consent, "consent record")]
)
def test_an_unreadable_record_holds_its_send_and_every_other_send_goes(
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    concurrency: int,
    breaks: object,
    record: str,
) -> None:
    """The send needing it is held with an event and a notice; the rest go; released, it goes."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    notices: list[Notify] = []
    esc = _desk(path, clock, sms, notices, concurrency)
    bad, *good = _cases(esc, clock)
    row_id = _intro(esc, bad)
    assert callable(breaks)
    table, record_id, text = breaks(path, esc, bad)
    esc.close()

    esc = _desk(path, clock, sms, notices, concurrency)  # a fresh process: nothing remembered
    with caplog.at_level(logging.WARNING, logger="escalate"):
        report = esc.run_due()
    assert len(sms.sent) == len(good)
    assert {message.to for message in sms.sent} == {
        Identity.phone(PHONE.format(n=n)) for n in range(1, CASES)
    }
    assert report.held == 1
    held = esc.outbox.get(row_id)
    assert held.status is OutboxStatus.HELD
    (event,) = [e for e in esc.history(bad) if e.kind == "message.held"]
    assert event.data["reason"] == "unreadable_record"
    assert event.data["record"] == record
    assert event.data["record_id"] == record_id
    (notice,) = [n for n in notices if n.topic == "unreadable_record"]
    assert record_id in notice.text
    assert row_id in notice.text
    reference = esc.handoffs.get(bad).reference
    assert reference in notice.text
    for shown in (notice.text, str(event.data), caplog.text):
        assert PHONE.format(n=0) not in shown

    esc.run_due()  # held: never met again, no second notice
    assert len(sms.sent) == len(good)
    assert len([n for n in notices if n.topic == "unreadable_record"]) == 1

    # The operator restores the row from a backup, then releases the send.
    sql_rows(path, f"UPDATE {table} SET data = ? WHERE id = ?", text, record_id)
    esc.close()
    esc = _desk(path, clock, sms, notices, concurrency)
    esc.outbox.release(row_id)
    esc.run_due()
    assert len(sms.sent) == CASES
    assert sms.sent[-1].to == Identity.phone(PHONE.format(n=0))
    assert esc.outbox.get(row_id).status is OutboxStatus.DONE
    assert esc.verify_log().ok
    esc.close()


class _EditedLedger(MemoryStore):
    """A store whose ledger for one address no longer reads: any store may raise it."""

    def __init__(self, address: Identity, record: str) -> None:
        super().__init__()
        self.address = address
        self.record = record
        self.broken = False

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        if self.broken and address == self.address:
            raise CorruptRecord(self.record, record_id="cr_edited", detail="action: bad")
        return super().consent_history(tenant, address, address_hash)


def _memory_desk(store: MemoryStore, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        notifier=lambda _handoff, _notify: None,
    )


def test_a_store_raising_for_a_keyword_answer_holds_it_with_an_event(clock: FakeClock) -> None:
    """A HELP answer (no case) whose ledger does not read is held and audited; nobody to notify."""
    sender = Identity.phone(PHONE.format(n=9))
    store = _EditedLedger(sender, "consent record")
    sms = MemoryTransport(name="memory")
    esc = _memory_desk(store, clock, sms)
    _cases(esc, clock)
    esc.inbound(InboundMessage(channel="sms", sender=sender, body="HELP", received_at=clock.now()))
    store.broken = True
    report = esc.run_due()
    assert report.held == 1
    assert len(sms.sent) == CASES  # every case's intro
    assert sender not in {message.to for message in sms.sent}
    (held,) = esc.outbox.held()
    assert held.handoff_id is None
    assert not [row for row in store.outbox(esc.tenant) if isinstance(row.command, Notify)]
    store.broken = False
    esc.outbox.release(held.id)
    esc.run_due()
    assert sms.sent[-1].to == sender


def test_an_unreadable_handoff_met_by_a_send_puts_its_row_back(clock: FakeClock) -> None:
    """A handoff that no longer reads when a send reads it again waits, pending, as at a claim."""
    store = _EditedLedger(Identity.phone(PHONE.format(n=0)), "handoff")
    sms = MemoryTransport(name="memory")
    esc = _memory_desk(store, clock, sms)
    bad, *good = _cases(esc, clock)
    store.broken = True
    report = esc.run_due()
    assert report.held == 0
    assert len(sms.sent) == len(good)
    row = esc.outbox.get(_intro(esc, bad))
    assert row.status is OutboxStatus.PENDING
    assert row.due_at == clock.now() + esc.engine.lease
    store.broken = False
    clock.advance(minutes=5)
    esc.run_due()
    assert len(sms.sent) == CASES
