"""A STOP from a number whose contact, consent ledger or case no longer reads still revokes.

Found by a review: ``esc.inbound`` read the sender's contact, the address's
ledger and its open cases before it recorded anything, so a row among them
edited outside escalate (``CorruptRecord``) dropped the STOP: the webhook
answered 500 (Twilio does not retry an inbound message) and the number stayed
granted. The sends to it were held meanwhile (docs/delivery.md, "A record that
no longer reads"), but once the operator restored the row and released them as
the docs say, they went to someone who had said STOP. The revoke needs none of
those reads: it is recorded, and ``CorruptRecord`` still tells the caller that
the rest (declining the case) did not happen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from escalate import Channel, CorruptRecord, Escalator, Identity, InboundMessage, Workflow
from escalate.consent import ConsentAction
from escalate.store import OutboxStatus, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.webhooks import Applied, ProviderEvent, apply_webhook
from escalate.workflow import SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread, sql_rows
from tests.pii import capture_pii

PHONE = Identity.phone("+14155550142")
EMAIL = Identity.email("jane@example.com")


def _desk(path: Path, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        notifier=lambda _handoff, _notify: None,
    )


def _contact(path: Path) -> tuple[str, str, str]:
    ((row_id, text),) = sql_rows(path, "SELECT id, data FROM contacts WHERE data LIKE '%+1415%'")
    sql_rows(
        path, "UPDATE contacts SET data = json_set(data, '$.links', 'oops') WHERE id = ?", row_id
    )
    return "contacts", str(row_id), str(text)


def _consent(path: Path) -> tuple[str, str, str]:
    ((row_id, text),) = sql_rows(path, "SELECT id, data FROM consent_records")
    sql_rows(path, "UPDATE consent_records SET data = 'not json {' WHERE id = ?", row_id)
    return "consent_records", str(row_id), str(text)


def _handoff(path: Path) -> tuple[str, str, str]:
    ((row_id, text),) = sql_rows(path, "SELECT id, data FROM handoffs")
    sql_rows(
        path, "UPDATE handoffs SET data = json_set(data, '$.state', 'oops') WHERE id = ?", row_id
    )
    return "handoffs", str(row_id), str(text)


def _texts(esc: Escalator) -> list[str | None]:
    """The templates of the texts that went."""
    return [
        row.command.template
        for row in esc.store.outbox(esc.tenant)
        if isinstance(row.command, SendMessage) and row.status is OutboxStatus.DONE
    ]


def _stop(clock: FakeClock, body: str = "STOP") -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        sender=PHONE,
        body=body,
        received_at=clock.now(),
        provider="twilio",
        provider_message_id="SM-stop",
    )


@pytest.mark.parametrize("breaks", [_contact, _consent, _handoff])
def test_a_stop_is_recorded_though_a_record_it_reads_does_not(
    tmp_path: Path, clock: FakeClock, breaks: Callable[[Path], tuple[str, str, str]]
) -> None:
    """The revoke is written, the caller still hears ``CorruptRecord``, and once the row
    is restored the held sends, released as the docs say, are refused: nothing is texted."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms)
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.close()
    table, row_id, text = breaks(path)

    esc = _desk(path, clock, sms)
    with capture_pii() as captured, pytest.raises(CorruptRecord):
        esc.inbound(_stop(clock))
    assert captured.leaked() == []
    esc.run_due()  # the intro needs the record too: held (or waiting for its case)
    assert set(_texts(esc)) <= {"consent.opt_out_confirmation"}

    sql_rows(path, f"UPDATE {table} SET data = ? WHERE id = ?", text, row_id)
    esc.close()
    esc = _desk(path, clock, sms)
    actions = [record.action for record in esc.consent.records(PHONE)]
    assert actions == [ConsentAction.GRANT, ConsentAction.REVOKE]
    for row in esc.outbox.held():
        esc.outbox.release(row.id)
    clock.advance(timedelta(minutes=10))  # past the lease a row of an unreadable case waits
    esc.run_due()
    # The STOP's one confirmation at most; never the case's intro.
    assert _texts(esc) in ([], ["consent.opt_out_confirmation"])
    assert len(sms.sent) == len(_texts(esc))
    assert not esc.consent.decide(PHONE, "transactional", clock.now()).allowed
    intro = [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=case.id)
        if isinstance(row.command, SendMessage) and row.command.template == "intro.sms"
    ]
    assert [row.status for row in intro] == [OutboxStatus.REFUSED]
    esc.close()


def test_a_reply_that_is_no_stop_records_nothing_when_a_record_does_not_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Only an opt-out is recorded regardless: any other reply still fails as before."""
    path = tmp_path / "e.db"
    sms = MemoryTransport(name="memory")
    esc = _desk(path, clock, sms)
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.close()
    table, row_id, text = _contact(path)
    esc = _desk(path, clock, sms)
    with pytest.raises(CorruptRecord):
        esc.inbound(_stop(clock, body="is anyone there?"))
    sql_rows(path, f"UPDATE {table} SET data = ? WHERE id = ?", text, row_id)
    assert [r.action for r in esc.consent.records(PHONE)] == [ConsentAction.GRANT]
    esc.close()


def test_a_stop_on_a_number_with_no_contact_is_unchanged(clock: FakeClock) -> None:
    """The path that reads fine is as before: one revoke and its confirmation."""
    sms = MemoryTransport(name="memory")
    esc = Escalator(
        "memory://", transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme")
    )
    esc.inbound(_stop(clock))
    assert [r.action for r in esc.consent.records(PHONE)] == [ConsentAction.REVOKE]
    assert [m.to for m in sms.sent] == [PHONE]


def test_a_carrier_opt_out_event_is_recorded_though_the_ledger_does_not_read(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Twilio's 21610 (or a SendGrid unsubscribe) on an address whose ledger has an
    edited row: the duplicate check cannot read it, so the revoke is written again
    rather than dropped with a 500 (a status callback is not retried)."""
    path = tmp_path / "e.db"
    esc = _desk(path, clock, MemoryTransport(name="memory"))
    esc.consent.grant(PHONE, WEB_FORM_CONSENT)
    esc.close()
    table, row_id, text = _consent(path)
    esc = _desk(path, clock, MemoryTransport(name="memory"))
    event = ProviderEvent(
        provider="twilio", event="21610", address=PHONE, at=clock.now(), key="twilio:SM1:21610"
    )
    assert apply_webhook(esc, event) is Applied.APPLIED
    sql_rows(path, f"UPDATE {table} SET data = ? WHERE id = ?", text, row_id)
    assert [r.action for r in esc.consent.records(PHONE)] == [
        ConsentAction.GRANT,
        ConsentAction.REVOKE,
    ]
    esc.close()
