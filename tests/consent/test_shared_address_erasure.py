"""Erasing one of two people who use the same address leaves the other's consent whole.

A household shares a number: Alice's contact holds it, Bob gave it (with his own
consent) on his own case. Erasing Alice is erasing her data, not Bob's: his grant,
his case's texts and his verification of the number stay, and decide() still
allows his case's texts. Both run once per store kind (the ``esc`` fixture).
"""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from escalate import (
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Identity,
    InboundMessage,
    LinkSource,
    Thread,
    Workflow,
)
from escalate.consent import ConsentAction
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import TEST_START, WEB_FORM_CONSENT

SHARED = Identity.phone("+14155550123")
ALICE_ONLY = Identity.phone("+14155550177")
BOB_FORM = ConsentEvidence(
    source=ConsentSource.WEB_FORM, text="Text me about my case.", ip="198.51.100.9"
)


def _thread(clock: FakeClock, thread_id: str, user_id: str, handle: str) -> Thread:
    author = Identity.social("x", user_id, handle)
    return Thread(
        platform="x", thread_id=thread_id, author=author, text="where is my refund",
        posted_at=clock.now(),
    )  # fmt: skip


def _household(esc: Escalator, clock: FakeClock) -> tuple[str, str, str]:
    """Alice holds the shared number and one of her own; Bob gives the shared one on
    his case, with his consent. Returns Alice's contact id, Bob's case and contact ids."""
    alice = esc.contacts.create(SHARED, LinkSource.CRM_IMPORT)
    esc.contacts.link(alice.id, ALICE_ONLY, LinkSource.CRM_IMPORT)
    esc.consent.grant(SHARED, WEB_FORM_CONSENT.model_copy(update={"thread_id": "a-1"}))
    clock.advance(minutes=1)
    bob = esc.open(_thread(clock, "9001", "77", "bob_b"))
    bob = esc.contact_provided(bob.id, SHARED, consent=BOB_FORM)
    esc.run_due()
    assert bob.contact_id is not None
    assert esc.contacts.resolve(SHARED).id == alice.id  # type: ignore[union-attr]
    return alice.id, bob.id, bob.contact_id


def test_erasing_one_person_keeps_the_grant_another_gave_for_the_same_number(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Bob's grant, given on his own case, was deleted with Alice's records: his case
    stopped being allowed to text him, and the brand lost the proof of his consent."""
    alice_id, bob_case, _ = _household(esc, clock)
    [bob_grant] = [r for r in esc.consent.records(SHARED) if r.handoff_id == bob_case]
    esc.consent.erase(alice_id)
    assert esc.consent.records(SHARED) == [bob_grant]
    assert esc.consent.decide(SHARED, "transactional").reason == "granted"
    clock.advance(minutes=1)
    sent = len(sms.sent)
    esc.send_message(bob_case, "Bob, your refund is on its way.", actor="agent:7")
    esc.run_due()
    assert [m.body for m in sms.sent[sent:]] == [sms.sent[-1].body]
    assert "Bob, your refund" in sms.sent[-1].body
    assert esc.handoffs.get(bob_case).state.value != "declined"


def test_erasing_one_person_erases_everything_of_theirs_on_a_shared_number(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """What was Alice's goes: her grant (a proof kept), her address links, and her
    number that only she used, records and all."""
    alice_id, bob_case, _ = _household(esc, clock)
    esc.consent.grant(ALICE_ONLY, WEB_FORM_CONSENT.model_copy(update={"thread_id": "a-2"}))
    proofs = esc.consent.erase(alice_id)
    assert len(proofs) == 2  # her grant on each number; Bob's stays a record
    assert all(r.handoff_id == bob_case for r in esc.consent.records(SHARED))
    assert esc.consent.records(ALICE_ONLY) == []
    assert esc.contacts.get(alice_id).links == ()  # type: ignore[union-attr]
    assert esc.contacts.resolve(SHARED) is None
    assert "203.0.113.7" not in json.dumps(esc.consent.export(bob_case_contact(esc, bob_case)))
    assert esc.verify_log().ok


def bob_case_contact(esc: Escalator, case_id: str) -> str:
    contact_id = esc.handoffs.get(case_id).contact_id
    assert contact_id is not None
    return contact_id


def test_a_stop_from_the_shared_number_still_holds_after_the_erasure(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A STOP texted from the number after Bob's grant is nobody's case's: erased with
    Alice's records, it keeps holding (as a proof), and Bob's older grant does not
    bring the texts back."""
    alice_id, _, _ = _household(esc, clock)
    clock.advance(minutes=1)
    esc.inbound(InboundMessage(channel="sms", sender=SHARED, body="STOP", received_at=clock.now()))
    esc.consent.erase(alice_id)
    assert esc.consent.decide(SHARED, "transactional").reason == "revoked"


def test_erasing_the_other_person_first_leaves_nothing_kept_for_them(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Once Bob is erased too, nobody living uses the number through a case: Alice's
    erasure then erases the number's records whole, as for a number only she used."""
    alice_id, _, bob_id = _household(esc, clock)
    esc.consent.erase(bob_id)
    esc.consent.erase(alice_id)
    assert esc.consent.records(SHARED) == []
    assert esc.consent.decide(SHARED, "transactional").allowed is False


def test_the_sharers_export_and_the_erased_persons_keep_to_their_own_records(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A grant given on Bob's case is Bob's: it is in his access export (the number is
    not his contact's), and Alice's export leaves it out, his ip with it."""
    alice_id, bob_case, bob_id = _household(esc, clock)
    alice = esc.consent.export(alice_id)
    bob = esc.consent.export(bob_id)
    assert {r["handoff_id"] for r in alice["consent"]} == {None}
    assert "198.51.100.9" not in json.dumps(alice)
    assert [r["handoff_id"] for r in bob["consent"]] == [bob_case]


def test_erasing_the_person_who_gave_anothers_number_erases_their_grant_there(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Bob's grant on the number Alice holds outlived Bob's erasure, his ip and the
    form's words with it; Alice's own grant there is hers and stays."""
    _, bob_case, bob_id = _household(esc, clock)
    [alice_grant, bob_grant] = esc.consent.records(SHARED)
    assert (alice_grant.handoff_id, bob_grant.handoff_id) == (None, bob_case)
    proofs = esc.consent.erase(bob_id)
    assert [proof.id for proof in proofs] == [bob_grant.id]
    assert esc.consent.records(SHARED) == [alice_grant]
    alice = esc.contacts.resolve(SHARED)
    assert alice is not None
    assert "198.51.100.9" not in json.dumps(esc.consent.export(alice.id))


def test_a_verification_the_other_person_started_survives(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Bob's own challenge to the shared number is his: Alice's erasure left it
    unconfirmable, and Alice's export showed it."""
    alice_id, _, bob_id = _household(esc, clock)
    challenge = esc.contacts.start_verification(bob_id, SHARED)
    assert esc.consent.export(alice_id)["verifications"] == []
    esc.consent.erase(alice_id)
    bob = esc.contacts.confirm_code(challenge.id, challenge.code)
    assert bob.link_for(SHARED) is not None


def test_a_stop_the_erased_person_then_undid_still_stops_the_older_grant(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP, then Alice's own grant again: erased, her grant authorises nothing, and the
    STOP it had undone must still hold over Bob's grant, older than the STOP."""
    alice_id, _, _ = _household(esc, clock)
    clock.advance(minutes=1)
    esc.inbound(InboundMessage(channel="sms", sender=SHARED, body="STOP", received_at=clock.now()))
    clock.advance(minutes=1)
    esc.consent.grant(SHARED, WEB_FORM_CONSENT.model_copy(update={"thread_id": "a-3"}))
    esc.consent.erase(alice_id)
    assert esc.consent.decide(SHARED, "transactional").reason == "revoked"


@settings(max_examples=100)
@example(["stop", "alice_grant"])
@given(st.lists(st.sampled_from(["alice_grant", "bob_grant", "stop", "bob_stop"]), max_size=6))
def test_after_the_erasure_the_number_is_allowed_only_when_bobs_grant_is_the_last_word(
    steps: list[str],
) -> None:
    """Whatever Alice, Bob and the number said in any order, once Alice is erased the
    number may be texted exactly when the latest of Bob's records and the stops is
    a grant of Bob's: Alice's grants authorise nothing, and no stop is lost."""
    clock = FakeClock(TEST_START)
    esc = Escalator("memory://", transports=[MemoryTransport()], clock=clock,
                    workflow=Workflow.default(brand="Acme"))  # fmt: skip
    alice_id, bob_case, _ = _household(esc, clock)
    stop = ConsentEvidence(source=ConsentSource.SMS_KEYWORD, rule="keyword")
    for step in steps:
        clock.advance(minutes=10)  # past every confirmation window
        if step == "alice_grant":
            esc.consent.grant(SHARED, WEB_FORM_CONSENT.model_copy(update={"thread_id": "a-9"}))
        elif step == "bob_grant":
            esc.consent.grant(SHARED, BOB_FORM, handoff_id=bob_case)
        else:
            esc.consent.record(SHARED, purpose="transactional", action="revoke", evidence=stop,
                               all_purposes=True,
                               handoff_id=bob_case if step == "bob_stop" else None)  # fmt: skip
    said = [
        r
        for r in esc.consent.records(SHARED)
        if r.handoff_id == bob_case or r.action is ConsentAction.REVOKE
    ]
    last = max(said, key=lambda r: (r.at, r.seq or 0))
    esc.consent.erase(alice_id)
    clock.advance(minutes=10)
    allowed = esc.consent.decide(SHARED, "transactional").allowed
    assert allowed == (last.action is ConsentAction.GRANT and last.handoff_id == bob_case)
