"""Kantara receipts, export of everything held on a person, and erasure that keeps minimum proof."""

from __future__ import annotations

import json

import pytest

from escalate import (
    Escalator,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidConsentReceipt,
    InvalidInput,
    LinkSource,
    NotFound,
    Workflow,
)
from escalate.consent import ConsentReceipt, ReceiptController, consent_receipt
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.test_agent_message_fallback import EMAIL, TEXT, connected_by_text

PHONE = Identity.phone("+14155550100")
CONTROLLER = ReceiptController(
    piiController="Acme Inc.", contact="Privacy team", address="1 Main St, Springfield",
    email="privacy@acme.example", phone="+1 415 555 0199",
)  # fmt: skip


def connected(esc: Escalator, clock: FakeClock) -> str:
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    return handoff.contact_id


def test_receipt_is_kantara_v1_1(esc: Escalator, clock: FakeClock) -> None:
    """A grant's receipt has the v1.1 fields and reads back through ConsentReceipt.parse."""
    connected(esc, clock)
    (record,) = esc.consent.records(PHONE)
    receipt = esc.consent.receipt(
        record, controller=CONTROLLER, policy_url="https://acme.example/p"
    )
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["consentReceiptID"] == record.id
    assert receipt["piiPrincipalId"] == PHONE.value
    assert receipt["consentTimestamp"] == int(record.at.timestamp())
    assert receipt["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    assert record.evidence.text_version in receipt["collectionMethod"]
    parsed = ConsentReceipt.parse(json.dumps(receipt))
    assert parsed.to_json() == receipt


def test_revoke_receipt_names_the_termination(esc: Escalator, clock: FakeClock) -> None:
    """A revocation's receipt covers every purpose and says when and how consent ended."""
    connected(esc, clock)
    esc.inbound(InboundMessage(channel="sms", sender=PHONE, body="STOP", received_at=clock.now()))
    revoke = esc.consent.records(PHONE)[-1]
    receipt = consent_receipt(revoke, controller=CONTROLLER, policy_url="https://acme.example/p")
    purposes = receipt["services"][0]["purposes"]
    assert len(purposes) == 2
    assert purposes[0]["termination"].startswith("Revoked")
    # The record's time as written (capitalize() used to lowercase the ISO "T").
    assert "T" in purposes[0]["termination"].split()[1]


def test_a_suppression_receipt_says_suppressed(esc: Escalator, clock: FakeClock) -> None:
    """It said "Suppressd", from the action's value plus a "d"."""
    (bounce,) = esc.consent.record_provider_event("sendgrid", "bounce", Identity.email("j@ex.com"))
    receipt = consent_receipt(bounce, controller=CONTROLLER, policy_url="https://acme.example/p")
    termination = receipt["services"][0]["purposes"][0]["termination"]
    assert termination.startswith("Suppressed ")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("piiPrincipalId"),
        lambda r: r.update(version="KI-CR-v1.0.0"),
        lambda r: r.update(consentTimestamp="yesterday"),
        lambda r: r.update(services=[]),
        lambda r: r.update(unexpected=True),
        lambda r: r["services"][0]["purposes"][0].update(consentType="MAYBE"),
    ],
)
def test_malformed_receipts_are_refused(esc: Escalator, clock: FakeClock, mutate: object) -> None:
    """A receipt with a missing, mistyped or unknown field raises InvalidConsentReceipt."""
    connected(esc, clock)
    receipt = consent_receipt(
        esc.consent.records(PHONE)[0], controller=CONTROLLER, policy_url="https://a.example"
    )
    mutate(receipt)  # type: ignore[operator]
    with pytest.raises(InvalidConsentReceipt):
        ConsentReceipt.parse(receipt)


@pytest.mark.parametrize("bad", ["{not json", "[]", b"null"])
def test_non_object_receipts_are_refused(bad: str | bytes) -> None:
    """Text that is not a JSON receipt object raises InvalidConsentReceipt (an InvalidInput)."""
    with pytest.raises(InvalidInput):
        ConsentReceipt.parse(bad)


def test_export_holds_everything(esc: Escalator, clock: FakeClock, sms: MemoryTransport) -> None:
    """export(contact) has the identities, consent records, handoffs, messages and events."""
    contact_id = connected(esc, clock)
    data = esc.consent.export(contact_id)
    assert any(link["identity"]["value"] == PHONE.value for link in data["contact"]["links"])
    assert data["consent"][0]["evidence"]["ip"] == "203.0.113.7"
    assert data["handoffs"]
    assert data["events"]
    assert any(m["command"].get("body") == sms.sent[0].body for m in data["messages"])
    json.dumps(data)


def test_export_holds_the_consent_of_a_number_unlinked_from_the_person(
    esc: Escalator, clock: FakeClock
) -> None:
    """Erasure deletes, as the person's, the consent of a number unlinked from them that
    nobody holds; export left it out, so an access request missed what erasure took."""
    contact_id = connected(esc, clock)
    old = Identity.phone("+14155550701")
    esc.consent.grant(old, WEB_FORM_CONSENT)
    esc.contacts.link(contact_id, old, LinkSource.AGENT_ENTERED)
    esc.contacts.unlink(contact_id, old, actor="agent:7")
    exported = esc.consent.export(contact_id)["consent"]
    assert old.value in {record["address"]["value"] for record in exported}


def test_erase_removes_personal_data_but_keeps_proof(
    esc: Escalator, clock: FakeClock, store: Store, sms: MemoryTransport
) -> None:
    """erase() leaves no address, evidence or body, keeps hashed proofs, and a STOP still holds."""
    contact_id = connected(esc, clock)
    esc.inbound(InboundMessage(channel="sms", sender=PHONE, body="STOP", received_at=clock.now()))
    proofs = esc.consent.erase(contact_id)
    assert [p.action.value for p in proofs] == ["grant", "revoke"]
    dumped = json.dumps(esc.consent.export(contact_id))
    assert PHONE.value not in dumped
    assert "203.0.113.7" not in dumped
    assert sms.sent[0].body not in dumped
    assert make_thread(clock).text not in dumped
    assert esc.consent.records(PHONE) == []
    # The number comes back: the revocation still holds, proven by the hashed proof.
    decision = esc.consent.decide(PHONE, "transactional")
    assert decision.reason == "revoked"
    assert decision.records[0].id == proofs[1].id


def test_export_and_erase_unknown_contact(esc: Escalator) -> None:
    """An unknown contact raises NotFound; a wrong type raises InvalidInput."""
    with pytest.raises(NotFound):
        esc.consent.export("ct_missing")
    with pytest.raises(InvalidInput):
        esc.consent.erase(42)  # type: ignore[arg-type]


def test_known_zone_overrides_the_number(esc: Escalator, clock: FakeClock) -> None:
    """A contact's known zone decides quiet hours over the number's own zone."""
    contact_id = connected(esc, clock)  # 10:00 in Los Angeles: open
    esc.contacts.set_time_zone(contact_id, "Asia/Tokyo")  # 03:00 in Tokyo: closed
    decision = esc.consent.decide(PHONE, "transactional")
    assert decision.reason == "quiet_hours"
    assert decision.zone_source == "contact"
    with pytest.raises(InvalidInput):
        esc.contacts.set_time_zone(contact_id, "Mars/Olympus")


def test_erasing_a_person_declines_their_open_case_and_others_go_on(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Left open without an address, its reminder broke run_due() for the whole tenant."""
    contact_id = connected(esc, clock)
    (erased,) = esc.store.open_handoffs_for_contact(esc.tenant, contact_id)
    other = esc.open(make_thread(clock, thread_id="2002", user_id="77"))
    esc.contact_provided(other.id, Identity.phone("+14155550188"), consent=WEB_FORM_CONSENT)
    esc.consent.erase(contact_id)
    declined = esc.handoffs.get(erased.id)
    assert declined.state is HandoffState.DECLINED
    assert (declined.close_reason, declined.address) == ("contact erased", None)
    sms.clear()
    clock.advance(hours=25)
    esc.run_due()  # the erased case's reminder fires into nothing
    assert [m.to.value for m in sms.sent] == ["+14155550188"]  # the other's reminder
    assert esc.handoffs.get(other.id).state is HandoffState.CONNECTED


def test_an_erased_grant_authorises_no_more_texts(esc: Escalator, clock: FakeClock) -> None:
    """The person asked to be forgotten: their number needs consent anew."""
    contact_id = connected(esc, clock)
    esc.consent.erase(contact_id)
    decision = esc.consent.decide(PHONE, "transactional")
    assert not decision.allowed
    assert decision.reason == "no_consent"


def test_an_erased_stop_that_start_had_undone_stays_undone(
    esc: Escalator, clock: FakeClock
) -> None:
    """Only a revoke still in force when erased keeps holding."""
    contact_id = connected(esc, clock)
    for body in ("STOP", "START"):
        clock.advance(minutes=5)
        esc.inbound(InboundMessage(channel="sms", sender=PHONE, body=body, received_at=clock.now()))
    assert esc.consent.decide(PHONE, "transactional").allowed
    esc.consent.erase(contact_id)
    assert esc.consent.decide(PHONE, "transactional").reason == "no_consent"


def test_erasing_a_survivor_scrubs_the_cases_of_contacts_merged_into_it(
    esc: Escalator, clock: FakeClock
) -> None:
    """The person's case opened under a contact since merged away is theirs too."""
    older = esc.contacts.create(Identity.email("jane@crm.example"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    survivor = esc.contacts.merge(handoff.contact_id, older.id, "same person")
    esc.consent.erase(survivor.id)
    erased = esc.handoffs.get(handoff.id)
    assert (erased.state, erased.address, erased.thread.text) == (HandoffState.DECLINED, None, "")


def test_erasure_forgets_the_addresses_unlinked_from_the_person(
    esc: Escalator, clock: FakeClock
) -> None:
    """A wrong number kept as unlinked, on the person or on a contact merged into theirs, goes."""
    older = esc.contacts.create(Identity.email("jane@crm.example"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    contact_id = connected(esc, clock)
    esc.contacts.unlink(contact_id, PHONE, actor="agent:7")  # before the merge: on the tombstone
    esc.contacts.link(older, Identity.phone("+14155550188"), LinkSource.AGENT_ENTERED)
    esc.contacts.unlink(older, Identity.phone("+14155550188"))
    survivor = esc.contacts.merge(contact_id, older.id, "same person")
    assert survivor.id == older.id
    esc.consent.erase(survivor.id)
    assert [esc.contacts.get(c).unlinked for c in (older.id, contact_id)] == [(), ()]
    assert esc.consent.export(survivor.id)["contact"]["unlinked"] == []


def test_erasure_forgets_the_persons_number_in_another_contacts_unlinked_records(
    esc: Escalator, store: Store, clock: FakeClock
) -> None:
    """Someone said "this isn't me" of the number first; its owner's erasure takes it there too."""
    stranger = esc.contacts.create(Identity.email("sam@example.com"), LinkSource.CRM_IMPORT)
    esc.contacts.link(stranger, PHONE, LinkSource.AGENT_ENTERED)
    esc.contacts.unlink(stranger, PHONE, actor="agent:7")  # wrong number
    assert esc.contacts.get(stranger.id).unlinked_for(PHONE) is not None
    clock.advance(minutes=1)
    owner_id = connected(esc, clock)  # the number's real owner
    assert store.contacts_unlinked_from(esc.tenant, PHONE) == [esc.contacts.get(stranger.id)]
    esc.consent.erase(owner_id)
    assert esc.contacts.get(stranger.id).unlinked == ()
    assert store.contacts_unlinked_from(esc.tenant, PHONE) == []
    assert esc.contacts.get(stranger.id).identities == (Identity.email("sam@example.com"),)


def test_erasure_after_an_unmerge_forgets_the_persons_addresses_on_the_other_side(
    esc: Escalator, store: Store, clock: FakeClock
) -> None:
    """An unmerge recorded the person's number as unlinked from the other side: erasure takes it."""
    crm_email = Identity.email("sam@crm.example")
    other = esc.contacts.create(crm_email, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    owner_id = connected(esc, clock)
    _, merge = esc.contacts.merge_with_record(other, owner_id, "same person?")
    esc.contacts.unmerge(merge.id, actor="agent:7")
    assert store.contacts_unlinked_from(esc.tenant, PHONE) == [esc.contacts.get(other.id)]
    esc.consent.erase(owner_id)
    assert esc.contacts.get(other.id).unlinked == ()  # type: ignore[union-attr]
    assert esc.contacts.get(owner_id).unlinked == ()  # type: ignore[union-attr]
    assert esc.contacts.resolve(crm_email) == esc.contacts.get(other.id)


def _rows_holding(store: Store, tenant: str, text: str) -> list[str]:
    """The outbox rows whose stored command still holds ``text`` (a body or a value)."""
    return [item.id for item in store.outbox(tenant) if text in item.command.model_dump_json()]


def test_erasure_takes_the_agents_text_sent_to_an_address_unlinked_from_the_person(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The number was unlinked ("this isn't me") and the agent's text went by email
    instead: the row to the number, refused, still held the text after erasure."""
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = connected_by_text(esc, clock)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    esc.send_message(handoff.id, TEXT)
    assert len(_rows_holding(store, esc.tenant, TEXT)) == 2  # the refused row, the email
    esc.consent.erase(handoff.contact_id)
    assert _rows_holding(store, esc.tenant, TEXT) == []
    # Nobody holds the number now: what the person's form said of it goes too.
    assert esc.consent.records(PHONE) == []
    assert esc.consent.records(EMAIL) == []


def test_erasure_leaves_an_unlinked_address_to_the_person_who_holds_it_now(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The number unlinked from the person is someone else's now: the person's case's
    messages to it go, and so does the grant the person gave on their case (theirs);
    its owner's consent and messages stay."""
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = connected_by_text(esc, clock)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    esc.send_message(handoff.id, TEXT)
    clock.advance(minutes=5)
    owner = esc.open(make_thread(clock, thread_id="2002", user_id="77"))
    owner = esc.contact_provided(owner.id, PHONE, consent=WEB_FORM_CONSENT)
    assert owner.contact_id not in (None, handoff.contact_id)
    owners_rows = [item.id for item in store.outbox(esc.tenant, handoff_id=owner.id)]
    owners_consent = [r for r in esc.consent.records(PHONE) if r.handoff_id != handoff.id]
    esc.consent.erase(handoff.contact_id)
    assert _rows_holding(store, esc.tenant, TEXT) == []
    assert [item.id for item in store.outbox(esc.tenant, handoff_id=owner.id)] == owners_rows
    assert esc.consent.records(PHONE) == owners_consent
    assert esc.consent.decide(PHONE, "transactional").allowed
