"""A carrier opt-out reported for a message we sent (Twilio 21610) revokes the number.

Whether it comes through the status webhook (which records it first) or a
direct ``esc.outbox.reconcile`` call, the number ends revoked, once, in the
commit that fails the row: the case is declined (or moves to its email) and no
later case texts the number on the strength of the old grant.
"""

from __future__ import annotations

import pytest

from escalate import (
    ConsentSource,
    DeliveryStatus,
    Escalator,
    HandoffState,
    Identity,
    Workflow,
)
from escalate.consent import ConsentAction
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.webhooks import DeliveryReport, apply_webhook
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")


@pytest.mark.parametrize("how", ["reconcile", "webhook"])
def test_a_reported_carrier_opt_out_revokes_the_number_once(
    store: Store, clock: FakeClock, how: str
) -> None:
    """The intro is reported undelivered with 21610: declined, and the number revoked once."""
    sms = MemoryTransport()
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
    )
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    [intro] = sms.sent
    if how == "reconcile":
        esc.outbox.reconcile(intro.id, "failed", error_code="21610", actor="twilio")
    else:
        report = DeliveryReport(
            provider="twilio",
            message_id=intro.id,
            provider_message_id="memory-1",
            status=DeliveryStatus.FAILED,
            provider_status="undelivered",
            error_code="21610",
            address=PHONE,
            at=clock.now(),
            key="k1",
        )
        apply_webhook(esc, report)
    handoff = esc.handoffs.get(handoff.id)
    assert handoff.state is HandoffState.DECLINED
    assert esc.consent.decide(PHONE, "transactional").reason == "revoked"
    revokes = [
        r
        for r in esc.consent.records(PHONE)
        if r.action is ConsentAction.REVOKE and r.source is ConsentSource.PROVIDER_EVENT
    ]
    assert len(revokes) == 1
    assert revokes[0].all_purposes
