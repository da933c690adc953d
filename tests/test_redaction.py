"""Personal data never reaches logs, reprs or audit events unredacted."""

from __future__ import annotations

import json
import logging

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Identity,
    InboundMessage,
    PermanentTransportError,
    RetryableTransportError,
    UnknownOutcomeError,
    Workflow,
)
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import make_thread

PHONE = Identity.phone("+14155550142")
EMAIL = Identity.email("jane.doe@example.com")
SECRET_BODY = "my account number is 99887766"


def _leaks(text: str) -> list[str]:
    return [
        secret
        for secret in ("4155550142", "jane.doe@example.com", "jane.doe", "99887766")
        if secret in text
    ]


def test_a_troubled_handoff_logs_and_audits_nothing_personal(
    caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    """Failures, retries, held sends, replies and STOP log and audit no phone, email or body."""
    sms = MemoryTransport([Channel.SMS])
    email = MemoryTransport([Channel.EMAIL], name="mail")
    esc = Escalator(
        "memory://", transports=[sms, email], clock=clock, workflow=Workflow.default(brand="Acme")
    )
    consent = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text or email me.")
    caplog.set_level(logging.DEBUG)

    first = esc.open(make_thread(clock))
    sms.fail_next(RetryableTransportError("busy", provider="memory", raw={"to": PHONE.value}))
    esc.contact_provided(first.id, PHONE, consent=consent)
    clock.advance(minutes=10)
    esc.run_due()
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=PHONE, body=SECRET_BODY, received_at=clock.now())
    )
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=PHONE, body="STOP", received_at=clock.now())
    )

    second = esc.open(make_thread(clock, thread_id="2002", user_id="43"))
    email.fail_next(UnknownOutcomeError("timeout", provider="mail"))
    esc.contact_provided(second.id, EMAIL, consent=consent)
    third = esc.open(make_thread(clock, thread_id="2003", user_id="44"))
    sms.fail_next(RuntimeError(f"socket to {PHONE.value} closed: {SECRET_BODY}"))
    esc.contact_provided(third.id, Identity.phone("+14155550143"), consent=consent)
    fourth = esc.open(make_thread(clock, thread_id="2004", user_id="45"))
    sms.fail_next(PermanentTransportError("landline", provider="memory", code="21614"))
    esc.contact_provided(fourth.id, Identity.phone("+14155550144"), consent=consent)
    esc.run_due()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "raised RuntimeError" in logged  # the failures above were logged...
    assert _leaks(logged) == []  # ...without what they carried
    events = esc.store.events(esc.tenant)
    assert len(events) > 20
    assert _leaks(json.dumps([event.data for event in events], default=str)) == []
    assert _leaks(repr(events) + str(events)) == []
    assert _leaks(repr(esc.store.outbox(esc.tenant))) == []
    # The public reply greets the author by handle: personal data too (erasure scrubs it).
    assert any(row.command.kind == "post_public_reply" for row in esc.store.outbox(esc.tenant))
    assert "jane_d" not in repr(esc.store.outbox(esc.tenant))
