"""The paths added for unreadable records, long texts, shared addresses and typed overrides: no PII.

Each drives one person (``tests/pii.py``) through a path that writes a log
line, an audit event, a helpdesk notice or an exception of its own: a send or
a timer held for a contact or consent record edited outside escalate, a STOP
recorded though such a record does not read, an agent's long email text not
carried to SMS, a later provider's consent check deferring a text, an erasure
of one of two people on one number, a ``from_env`` override refused. The
events' data and the notices' texts go to audit logs and helpdesks that
outlive an erasure, so they are checked like the log.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    CorruptRecord,
    Escalator,
    Identity,
    InboundMessage,
    InvalidInput,
    InvalidRecipient,
    PermanentTransportError,
    Thread,
    Workflow,
)
from escalate.store import SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.transports.smtp import SMTPEmail
from escalate.transports.twilio import TwilioSMS
from escalate.workflow import Notify
from tests.conftest import TEST_START
from tests.pii import BODY, EMAIL_RAW, HANDLE, PHONE_E164, PHONE_FORMS, capture_pii, leaks, shown
from tests.workflow.test_paced_into_quiet_hours import pacer_on

PHONE = Identity.phone(PHONE_FORMS[0], region="US")
EMAIL = Identity.email(EMAIL_RAW)
CONSENT = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text or email me.", ip="203.0.113.7")


def _thread(clock: FakeClock, thread_id: str = "1001", user_id: str = "42") -> Thread:
    return Thread(
        platform="x",
        thread_id=thread_id,
        author=Identity.social("x", user_id, HANDLE),
        text=f"{BODY} {PHONE_FORMS[1]}",
        posted_at=clock.now(),
    )


def _desk(path: Path, clock: FakeClock, notices: list[Notify], **kwargs: object) -> Escalator:
    return Escalator(
        SQLiteStore(path),
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        notifier=lambda _handoff, notify: notices.append(notify),
        **{"transports": [MemoryTransport()], **kwargs},  # type: ignore[arg-type]
    )


def _edit(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute(sql, (f'"{PHONE_E164}"', '"4155550142"')).rowcount >= 1
    conn.close()


def _said(esc: Escalator, handoff_id: str, notices: list[Notify]) -> list[str]:
    """The held events' data and the notices' texts: what outlives the row."""
    data = [json.dumps(e.data) for e in esc.history(handoff_id) if e.kind.endswith(".held")]
    return data + [notice.text for notice in notices]


@pytest.mark.parametrize("table", ["contacts", "consent_records"])
def test_a_send_and_a_timer_held_for_an_edited_record_show_nothing_personal(
    tmp_path: Path, table: str
) -> None:
    """The person's number made no longer E.164 in the row: the hold names the row and the
    record by id, the log line, the ``message.held``/``timer.held`` events and the notices
    say what is wrong in it, never the number."""
    path, clock, notices = tmp_path / "e.db", FakeClock(TEST_START), []
    esc = _desk(path, clock, notices)
    handoff = esc.open(_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
    esc.close()
    _edit(path, f"UPDATE {table} SET data = replace(data, ?, ?)")
    with capture_pii() as captured:
        esc = _desk(path, clock, notices)
        esc.run_due()
        clock.advance(timedelta(days=3))  # its reminder and abandon timers come due
        esc.run_due()
    said = _said(esc, handoff.id, notices)
    assert any("unreadable_record" in text for text in said)
    assert [text for text in said if leaks(text)] == []
    assert captured.leaked() == []


def test_a_stop_recorded_though_the_contact_does_not_read_shows_nothing_personal(
    tmp_path: Path,
) -> None:
    """The revoke is written; its log line masks the number; the error quotes no row."""
    path, clock, notices = tmp_path / "e.db", FakeClock(TEST_START), []
    esc = _desk(path, clock, notices)
    handoff = esc.open(_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
    esc.close()
    _edit(path, "UPDATE contacts SET data = replace(data, ?, ?)")
    stop = InboundMessage(channel=Channel.SMS, sender=PHONE, body="STOP", received_at=clock.now())
    with capture_pii() as captured:
        esc = _desk(path, clock, notices)
        with pytest.raises(CorruptRecord) as raised:
            esc.inbound(stop)
    assert leaks(shown(raised.value)) == []
    assert any("opt-out from" in text for text in captured.texts())
    assert captured.leaked() == []


def test_a_long_email_text_not_carried_to_sms_shows_nothing_personal(tmp_path: Path) -> None:
    """The helpdesk's ``too_long_for_sms`` notice gives the reason and the length only."""
    clock, notices = FakeClock(TEST_START), []
    both = MemoryTransport([Channel.SMS, Channel.EMAIL])
    long_text = (BODY + ". ") * 60
    with capture_pii() as captured:
        esc = _desk(tmp_path / "e.db", clock, notices, transports=[both])
        earlier = esc.open(_thread(clock, thread_id="900"))
        esc.contact_provided(earlier.id, PHONE, consent=CONSENT)
        esc.resolve(earlier.id)
        handoff = esc.open(_thread(clock))
        esc.contact_provided(handoff.id, EMAIL, consent=CONSENT)
        esc.run_due()
        both.fail_next(InvalidRecipient(f"bounced: {EMAIL_RAW}", provider="memory"))
        esc.send_message(handoff.id, long_text)
        esc.run_due()
    (notice,) = [n for n in notices if n.topic == "too_long_for_sms"]
    assert leaks(notice.text) == []
    assert captured.leaked() == []


def test_a_later_providers_deferral_shows_nothing_personal(tmp_path: Path) -> None:
    """The first provider fails for good quoting the person; the second's slot is a minute
    off, past 21:00 in California: its consent check defers the text, and the log and the
    ``message.deferred`` event are clean."""
    clock, notices = FakeClock(datetime(2026, 1, 7, 4, 59, 30, tzinfo=UTC)), []
    first = MemoryTransport([Channel.SMS], name="a")
    second = MemoryTransport([Channel.SMS], name="b")
    pacer = pacer_on(clock, {"b": 1 / 60})
    assert pacer.acquire("b")
    first.fail_next(PermanentTransportError(f"{PHONE_E164}: {BODY}", provider="a", code="20003"))
    with capture_pii() as captured:
        esc = _desk(tmp_path / "e.db", clock, notices, transports=[first, second], pacer=pacer)
        handoff = esc.open(_thread(clock))
        esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
        esc.run_due()
    events = [e for e in esc.history(handoff.id) if e.kind == "message.deferred"]
    assert (len(first.attempts), second.sent, len(events)) == (1, [], 1)
    assert leaks(json.dumps(events[0].data)) == []
    assert captured.leaked() == []


def test_erasing_one_of_two_people_on_a_number_logs_nothing_personal(tmp_path: Path) -> None:
    """The erasure that keeps the other person's records logs and raises nothing personal."""
    clock, notices = FakeClock(TEST_START), []
    with capture_pii() as captured:
        esc = _desk(tmp_path / "e.db", clock, notices)
        alice = esc.open(_thread(clock))
        esc.contact_provided(alice.id, PHONE, consent=CONSENT)
        bob = esc.open(_thread(clock, thread_id="1002", user_id="43"))
        esc.contact_provided(bob.id, PHONE, consent=CONSENT)
        esc.run_due()
        contact_id = esc.handoffs.get(alice.id).contact_id
        assert contact_id is not None
        esc.consent.export(contact_id)
        esc.consent.erase(contact_id)
    assert [r.handoff_id for r in esc.consent.records(PHONE)] == [bob.id]  # Bob's, kept
    assert captured.leaked() == []


@pytest.mark.parametrize(
    "build",
    [
        lambda: TwilioSMS.from_env({}, auth_token=PHONE_E164.encode()),  # type: ignore[arg-type]
        lambda: SMTPEmail.from_env({}, password=[EMAIL_RAW]),  # type: ignore[arg-type]
    ],
)
def test_a_refused_from_env_override_does_not_quote_its_value(build: object) -> None:
    """The keyword and the type it got, never the value: it may be a secret or an address."""
    assert callable(build)
    with pytest.raises(InvalidInput) as raised:
        build()
    assert leaks(shown(raised.value)) == []
