"""An agent's text too long for one SMS is refused when written, not failed at the provider."""

from __future__ import annotations

import pytest

from escalate import Channel, Escalator, Identity, InvalidInput, Workflow
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import EMAIL_CONSENT, make_thread
from tests.workflow.test_delivery import connect, escalator

#: Twilio's limit, as escalate.sms.MAX_SMS_CHARS has it.
MAX_SMS_CHARS = 1_600


def _written(esc: object, handoff_id: str) -> tuple[int, int]:
    return len(esc.history(handoff_id)), len(list(esc.store.outbox("default")))  # type: ignore[attr-defined]


def test_a_text_longer_than_an_sms_takes_is_refused_and_changes_nothing(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Twilio fails a body over 1,600 characters for good (21617): the case would fail with it."""
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    before = _written(esc, handoff.id)
    with pytest.raises(InvalidInput, match=r"at most 1,600: split it"):
        esc.send_message(handoff.id, "x" * MAX_SMS_CHARS)  # the brand and code come on top
    assert _written(esc, handoff.id) == before
    assert len(sms.sent) == 1  # the intro only


def test_a_text_that_fits_goes(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    esc.send_message(handoff.id, "x" * 1_500)
    assert len(sms.sent) == 2
    assert len(sms.sent[-1].body) <= MAX_SMS_CHARS


def test_an_email_case_takes_the_whole_5000_characters(store: Store, clock: FakeClock) -> None:
    mail = MemoryTransport([Channel.EMAIL], name="mail")
    esc = Escalator(store, transports=[mail], clock=clock, workflow=Workflow.default())
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, Identity.email("jane@example.com"), consent=EMAIL_CONSENT)
    esc.send_message(handoff.id, "x" * 5_000)
    assert len(mail.sent[-1].body) > 5_000
