"""A carrier opt-out reported for a message we sent (Twilio 21610) revokes the number.

Whether it comes through the status webhook (which records it first) or a
direct ``esc.outbox.reconcile`` call, the number ends revoked, once, in the
commit that fails the row, with the same ledger entry as when the send itself
raised ``RecipientOptedOut``: the case is declined (or moves to its email) and no
later case texts the number on the strength of the old grant.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    DeliveryStatus,
    Escalator,
    HandoffState,
    Identity,
    InboundMessage,
    OutboundMessage,
    RecipientOptedOut,
    SendResult,
    Workflow,
)
from escalate.consent import ConsentAction
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.webhooks import DeliveryReport, apply_webhook
from tests.conftest import STORE_KINDS, WEB_FORM_CONSENT, make_store, make_thread

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


class ReportsInFlight(MemoryTransport):
    """Twilio's callback beats its answer: 21610 is reconciled while the row is claimed."""

    esc: Escalator | None = None

    def send(self, message: OutboundMessage) -> SendResult:
        result = super().send(message)
        esc, self.esc = self.esc, None
        if esc is not None:
            esc.outbox.reconcile(message.id, "failed", error_code="21610", actor="twilio")
        return result


def _opted_out(store: Store, clock: FakeClock, how: str) -> tuple[Escalator, str]:
    """The intro to a consented number, refused at send or reported undelivered with 21610
    (after the send settled, or while it was in flight)."""
    sms = ReportsInFlight(name="twilio")
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    if how == "send":
        sms.fail_next(
            RecipientOptedOut("twilio: HTTP 400, code 21610", provider="twilio", code="21610")
        )
    elif how == "in flight":
        sms.esc = esc
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    if how == "report":
        [intro] = sms.sent
        esc.outbox.reconcile(intro.id, "failed", error_code="21610", actor="twilio")
    return esc, handoff.id


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_the_send_and_the_report_record_the_same_revoke(
    kind: str, clock: FakeClock, tmp_path: Path
) -> None:
    """A 21610 raised by the send and one reported for the intro write one ledger entry.

    Apart from ids and times: the same revoke, scope, channel, source, evidence
    rule and actor, and the same ``consent.recorded`` event. The send's record
    named no rule before (its evidence said only ``provider_event``), and a
    report reconciled while the send was in flight recorded no revoke at all.
    """
    entries = []
    for how in ("send", "report", "in flight"):
        (tmp_path / how).mkdir()
        esc, handoff_id = _opted_out(make_store(kind, tmp_path / how), clock, how)
        assert esc.handoffs.get(handoff_id).state is HandoffState.DECLINED, how
        revokes = [r for r in esc.consent.records(PHONE) if r.action is ConsentAction.REVOKE]
        assert len(revokes) == 1, how
        [record] = revokes
        [event] = [e for e in esc.history(handoff_id) if e.kind == "consent.recorded"][1:]
        assert (record.handoff_id, event.handoff_id) == (handoff_id, handoff_id)
        assert event.data["record_id"] == record.id
        entries.append(
            (
                record.model_dump(exclude={"id", "at", "seq", "handoff_id"}),
                event.actor,
                {k: v for k, v in event.data.items() if k != "record_id"},
            )
        )
        esc.close()
    assert entries[0] == entries[1] == entries[2]
    record_data, actor, _ = entries[0]
    assert record_data["evidence"]["rule"] == "twilio:21610"
    assert record_data["all_purposes"] is True
    assert actor == "twilio"


def test_a_stop_confirmation_refused_for_the_stop_records_no_second_revoke(
    store: Store, clock: FakeClock
) -> None:
    """The carrier blocks our STOP confirmation (21610): the STOP's revoke already says it.

    The send path recorded a second revoke there, where a report of the same
    refusal recorded none; both record nothing for an address already opted out.
    """
    sms = MemoryTransport(name="twilio")
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.fail_next(
        RecipientOptedOut("twilio: HTTP 400, code 21610", provider="twilio", code="21610")
    )
    attempts = len(sms.attempts)
    esc.inbound(
        InboundMessage(
            channel=Channel.SMS,
            sender=PHONE,
            body="STOP",
            received_at=clock.now(),
            tenant=esc.tenant,
        )
    )
    esc.run_due()
    assert len(sms.attempts) > attempts  # the confirmation was tried, and refused
    revokes = [r for r in esc.consent.records(PHONE) if r.action is ConsentAction.REVOKE]
    assert [r.source for r in revokes] == [ConsentSource.SMS_KEYWORD]


def test_a_reported_opt_out_revokes_marketing_after_a_transactional_only_revoke(
    store: Store, clock: FakeClock
) -> None:
    """A number revoked for transactional messages only still gets the carrier's every-purpose
    revoke: the STOP it stands for covers marketing too (it was skipped as already revoked)."""
    sms = MemoryTransport(name="twilio")
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.consent.grant(PHONE, WEB_FORM_CONSENT, purpose="marketing")
    [intro] = sms.sent
    esc.consent.revoke(PHONE, ConsentEvidence(source=ConsentSource.API), purpose="transactional")
    assert esc.consent.decide(PHONE, "marketing").reason != "revoked"
    esc.outbox.reconcile(intro.id, "failed", error_code="21610", actor="twilio")
    assert esc.consent.decide(PHONE, "marketing").reason == "revoked"
    [carrier] = [r for r in esc.consent.records(PHONE) if r.source is ConsentSource.PROVIDER_EVENT]
    assert carrier.all_purposes
