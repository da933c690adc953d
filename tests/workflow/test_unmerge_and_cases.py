"""Cases across merges undone: each keeps its own customer's address, and only that.

A number given on a case (or verified) while the case's contact was merged into
another is linked to the survivor for the case's contact, so undoing the merge
gives it back to it: the case still texts it, and the survivor's cases do not.
Chains of unmerges keep each side's cases from the other's numbers.
"""

from __future__ import annotations

import pytest

from escalate import Escalator, Handoff, HandoffState, Identity, LinkSource, Workflow
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550177")


def _escalator(store: Store, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
    )


def _cancellations(esc: Escalator, handoff: Handoff) -> list[str]:
    return [e.data["reason"] for e in esc.history(handoff.id) if e.kind == "message.cancelled"]


@pytest.mark.parametrize("how", ["contact_provided", "verification"])
def test_a_number_given_while_merged_stays_with_the_case_after_the_unmerge(
    store: Store, clock: FakeClock, sms: MemoryTransport, how: str
) -> None:
    """Given (or verified) for the merged-away contact's case: the unmerge gives it back."""
    esc = _escalator(store, clock, sms)
    older = esc.open(make_thread(clock, thread_id="1", user_id="77"))
    clock.advance(minutes=1)
    case = esc.open(make_thread(clock, thread_id="2", user_id="42"))
    assert case.contact_id is not None
    assert older.contact_id is not None
    survivor, merge = esc.contacts.merge_with_record(
        older.contact_id, case.contact_id, "agent: same person?"
    )
    assert survivor.id == older.contact_id
    if how == "verification":
        challenge = esc.contacts.start_verification(case.contact_id, PHONE)
        esc.contacts.confirm_code(challenge.id, challenge.code)
    case = esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    older = esc.contact_provided(older.id, PHONE, consent=WEB_FORM_CONSENT)  # the survivor's
    assert [m.to for m in sms.sent] == [PHONE, PHONE]  # both intros
    sms.clear()
    kept, restored = esc.contacts.unmerge(merge.id, actor="agent:7")
    assert restored.id == case.contact_id
    assert esc.contacts.resolve(PHONE) == restored
    case = esc.send_message(case.id, "Your refund is on its way.")
    assert (case.state, [m.to for m in sms.sent]) == (HandoffState.CONNECTED, [PHONE])
    assert _cancellations(esc, case) == []
    older = esc.send_message(older.id, "Your refund is on its way.")
    assert [m.to for m in sms.attempts] == [PHONE]  # nothing more for the survivor's case
    assert _cancellations(esc, older) == ["address_unlinked"]
    assert older.state is HandoffState.FAILED
    assert kept.unlinked_for(PHONE) is not None


@pytest.mark.parametrize("undo", ["first merge first", "second merge first"])
def test_a_case_never_gets_back_a_number_an_earlier_unmerge_took(
    store: Store, clock: FakeClock, sms: MemoryTransport, undo: str
) -> None:
    """C's case texted B's number while all three were one; both merges undone, it does not."""
    esc = _escalator(store, clock, sms)
    a = esc.contacts.create(Identity.email("a@example.com"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    b = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    case = esc.open(make_thread(clock))
    assert case.contact_id is not None
    _, first = esc.contacts.merge_with_record(a, b, "same order number")
    _, second = esc.contacts.merge_with_record(a, case.contact_id, "same order number")
    case = esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)  # B's, held by A
    assert [m.to for m in sms.sent] == [PHONE]
    merges = [first, second] if undo == "first merge first" else [second, first]
    for merge in merges:
        esc.contacts.unmerge(merge.id, actor="agent:7")
    case = esc.send_message(case.id, "Your refund is on its way.")
    assert [m.to for m in sms.attempts] == [PHONE]
    assert _cancellations(esc, case) == ["address_unlinked"]
    assert case.state is HandoffState.FAILED
