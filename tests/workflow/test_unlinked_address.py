"""An address unlinked from a case's contact ("this isn't me") gets nothing more about the case.

Sends queued before the unlink are cancelled when they come due, and so are later
ones; the workflow hears a refused send, so it falls back to the contact's other
consented channel or ends failed. Keyword answers belong to the address and
still go, and an address the contact never held (another contact's, left to an
agent) is not affected. An unmerge is an unlink of each side's addresses from
the other side's cases.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    LinkSource,
    RetryableTransportError,
    Workflow,
)
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, Scenario
from escalate.workflow import SendMessage
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550177")
EMAIL = Identity.email("jane@example.com")
NIGHT = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco: quiet hours
MORNING = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # 08:30 there


def _escalator(store: Store, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
    )


def _held_intro(store: Store, sms: MemoryTransport) -> tuple[Escalator, FakeClock, Handoff]:
    """A case connected at night: its intro SMS waits in the outbox for the morning."""
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert (handoff.state, sms.sent) == (S.CONNECTED, [])
    return esc, clock, handoff


def _cancellations(esc: Escalator, handoff_id: str) -> list[str]:
    return [e.data["reason"] for e in esc.history(handoff_id) if e.kind == "message.cancelled"]


def _private_rows(esc: Escalator, handoff_id: str) -> list[OutboxStatus]:
    rows = esc.store.outbox(esc.tenant, handoff_id=handoff_id)
    return [row.status for row in rows if isinstance(row.command, SendMessage)]


def test_a_queued_intro_is_cancelled_once_the_number_is_unlinked(
    store: Store, sms: MemoryTransport
) -> None:
    """The held intro never goes; the row is cancelled with the reason; the case ends failed."""
    esc, clock, handoff = _held_intro(store, sms)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    clock.set(MORNING)
    report = esc.run_due()
    assert sms.attempts == []
    assert (report.cancelled, report.sent) == (1, 0)
    assert _private_rows(esc, handoff.id) == [OutboxStatus.CANCELLED]
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]
    history = esc.history(handoff.id)
    (cancelled,) = [e for e in history if e.kind == "message.cancelled"]
    assert "+14155550177" not in str(cancelled.data)
    assert cancelled.data["template"] == "intro.sms"
    # The workflow heard a refused send: no other channel, so the case failed.
    (last,) = [e for e in history if e.kind == "handoff.transition"][-1:]
    assert (last.data["input"], last.data["to"]) == ("send_failed", "failed")
    ended = esc.handoffs.get(handoff.id)
    assert ended.state is S.FAILED
    assert ended.close_reason == "send failed; no other consented channel"


def test_a_later_send_falls_back_to_the_contacts_consented_email(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An agent's message after the unlink is not texted: the intro, then it, go by email."""
    esc = _escalator(store, clock, sms)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
    esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    sms.clear()
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    handoff = esc.send_message(handoff.id, "Your refund is on its way.")
    assert [(m.to, m.body.startswith("Hi,")) for m in sms.attempts] == [
        (EMAIL, True),
        (EMAIL, False),
    ]
    assert handoff.reference in sms.sent[0].body
    assert sms.sent[1].body.startswith("Your refund is on its way.")
    assert (handoff.state, handoff.channel, handoff.address) == (S.CONNECTED, Channel.EMAIL, EMAIL)
    assert handoff.failed_channels == (Channel.SMS,)
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]


@pytest.mark.parametrize("kind", ["memory://", "sqlite"])
def test_a_wrong_number_gets_no_reminder(kind: str) -> None:
    """The scenario kit's story: the reminder a day on is not texted, and the case ends failed."""
    with Scenario(Workflow.default(brand="Acme"), store=kind) as s:
        s.post_publicly("@acme my order never arrived")
        s.advance(minutes=5)
        s.customer_provides(phone="(415) 555-0142", consent=True)
        s.assert_sent(1, channel="sms", containing=s.reference)
        assert s.handoff.contact_id is not None
        s.esc.contacts.unlink(s.handoff.contact_id, Identity.phone("+14155550142"), actor="agent")
        s.advance(hours=24)
        s.assert_nothing_more_sent()
        assert s.state is S.FAILED
        assert "address_unlinked" in [e.data.get("reason") for e in s.history]


def test_a_stop_confirmation_waiting_for_its_retry_still_goes(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A keyword answer belongs to the address, not the contact: the unlink does not stop it."""
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    sms.clear()
    sms.fail_next(RetryableTransportError("busy", provider="memory"))
    esc.inbound(InboundMessage(channel="sms", sender=PHONE, body="STOP", received_at=clock.now()))
    (waiting,) = [row for row in esc.store.outbox(esc.tenant) if row.status is OutboxStatus.PENDING]
    assert waiting.handoff_id == handoff.id  # tied to the case, yet the address's
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    clock.advance(seconds=30)
    esc.run_due()
    assert [(m.to, "unsubscribed" in m.body) for m in sms.sent] == [(PHONE, True)]


def test_a_number_another_contact_holds_is_still_the_cases(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Never linked to the case's contact, so never unlinked from it: the case still texts it."""
    esc = _escalator(store, clock, sms)
    other = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)  # a conflict for an agent
    esc.send_message(handoff.id, "Your refund is on its way.")
    # The other contact letting go of it says nothing about this case's customer.
    esc.contacts.unlink(other, PHONE, actor="agent:7")
    esc.send_message(handoff.id, "It left our warehouse today.")
    assert [m.to for m in sms.sent] == [PHONE] * 3
    assert _cancellations(esc, handoff.id) == []


@pytest.mark.parametrize("unlinked", [True, False])
def test_an_unlink_after_a_merge_is_followed(
    store: Store, sms: MemoryTransport, unlinked: bool
) -> None:
    """The case's contact was merged into an older one, which then let the number go."""
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms)
    older = esc.contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    survivor = esc.contacts.merge(older, handoff.contact_id, "same order number")
    assert survivor.id == older.id
    assert survivor.link_for(PHONE) is not None
    if unlinked:
        esc.contacts.unlink(survivor, PHONE, actor="agent:7")
    clock.set(MORNING)
    esc.run_due()
    assert [m.to for m in sms.sent] == ([] if unlinked else [PHONE])
    assert _cancellations(esc, handoff.id) == (["address_unlinked"] if unlinked else [])


def test_an_unlink_while_merged_survives_the_unmerge(store: Store, sms: MemoryTransport) -> None:
    """Unlinked while merged, the number stays unlinked for the restored contact's case."""
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms)
    older = esc.contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    survivor, merge = esc.contacts.merge_with_record(older, handoff.contact_id, "same person?")
    esc.contacts.unlink(survivor, PHONE, actor="agent:7")
    _, restored = esc.contacts.unmerge(merge.id, actor="agent:7")
    assert restored.id == handoff.contact_id
    # The unlink's record, and the unmerge's of the survivor's email.
    assert [(gone.identity, gone.merge_id) for gone in restored.unlinked] == [
        (PHONE, None),
        (EMAIL, merge.id),
    ]
    clock.set(MORNING)
    esc.run_due()
    assert sms.attempts == []
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]


def test_a_number_unlinked_then_given_to_someone_else_stays_unused(
    store: Store, sms: MemoryTransport
) -> None:
    """The real owner of the number becomes a contact: the case still does not text it."""
    esc, clock, handoff = _held_intro(store, sms)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    esc.contacts.create(PHONE, LinkSource.AGENT_ENTERED)
    clock.set(MORNING)
    esc.run_due()
    assert sms.attempts == []
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]


def test_a_number_linked_back_is_used_again(store: Store, sms: MemoryTransport) -> None:
    """An unlink undone (linked to the same contact again) lets the held intro go."""
    esc, clock, handoff = _held_intro(store, sms)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    relinked = esc.contacts.link(handoff.contact_id, PHONE, LinkSource.AGENT_ENTERED)
    assert relinked.unlinked == ()
    clock.set(MORNING)
    esc.run_due()
    assert [m.to for m in sms.sent] == [PHONE]
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_an_unmerge_keeps_the_survivors_case_from_the_number_it_gave_back(
    store: Store, sms: MemoryTransport
) -> None:
    """The held intro was for a number the merge brought; undone, the number is someone else's."""
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    clock.advance(minutes=1)
    other = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    survivor, merge = esc.contacts.merge_with_record(other, handoff.contact_id, "same person?")
    assert survivor.id == handoff.contact_id
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert (handoff.state, sms.sent) == (S.CONNECTED, [])  # held until the morning
    _, restored = esc.contacts.unmerge(merge.id, actor="agent:7")
    assert esc.contacts.resolve(PHONE) == restored
    clock.set(MORNING)
    esc.run_due()
    assert sms.attempts == []
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]
    assert esc.handoffs.get(handoff.id).state is S.FAILED


def test_an_unmerge_keeps_the_restored_contacts_case_from_the_survivors_number(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The merged-away contact's case texted the survivor's number; undone, it falls back."""
    esc = _escalator(store, clock, sms)
    older = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
    esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    _, merge = esc.contacts.merge_with_record(older, handoff.contact_id, "same person?")
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert [m.to for m in sms.sent] == [EMAIL, PHONE]
    sms.clear()
    esc.contacts.unmerge(merge.id, actor="agent:7")
    handoff = esc.send_message(handoff.id, "Your refund is on its way.")
    assert [m.to for m in sms.attempts] == [EMAIL, EMAIL]  # the intro, then the message
    assert (handoff.state, handoff.channel, handoff.address) == (S.CONNECTED, Channel.EMAIL, EMAIL)
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]


def test_an_unmerge_of_an_earlier_merge_is_followed(store: Store, sms: MemoryTransport) -> None:
    """The case's contact went on into an older one; undoing its own merge still parts them."""
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms)
    oldest = esc.contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    clock.advance(minutes=1)
    other = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    _, first = esc.contacts.merge_with_record(handoff.contact_id, other, "same person?")
    esc.contacts.merge(oldest, handoff.contact_id, "same order number")
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.contacts.unmerge(first.id, actor="agent:7")
    clock.set(MORNING)
    esc.run_due()
    assert sms.attempts == []
    assert _cancellations(esc, handoff.id) == ["address_unlinked"]


@pytest.mark.parametrize("how", ["merged again", "linked to the case's contact"])
def test_a_number_parted_by_an_unmerge_is_used_again_once_it_comes_back(
    store: Store, clock: FakeClock, sms: MemoryTransport, how: str
) -> None:
    """The merge redone, or the number linked back to the case's contact: the case texts it."""
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    clock.advance(minutes=1)
    other = esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    _, merge = esc.contacts.merge_with_record(other, handoff.contact_id, "same person?")
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.contacts.unmerge(merge.id, actor="agent:7")
    if how == "merged again":
        esc.contacts.merge(other, handoff.contact_id, "same person after all")
    else:
        esc.contacts.unlink(other, PHONE, actor="agent:7")
        esc.contacts.link(handoff.contact_id, PHONE, LinkSource.AGENT_ENTERED)
    esc.send_message(handoff.id, "Your refund is on its way.")
    assert [m.to for m in sms.sent] == [PHONE, PHONE]
    assert _cancellations(esc, handoff.id) == []


def test_a_number_a_third_contact_holds_is_still_the_cases_after_an_unmerge(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Given to the case, left to an agent, and held by neither side: the unmerge parts nothing."""
    esc = _escalator(store, clock, sms)
    older = esc.contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    esc.contacts.create(PHONE, LinkSource.CRM_IMPORT)
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)  # a conflict for an agent
    _, merge = esc.contacts.merge_with_record(older, handoff.contact_id, "same person?")
    esc.contacts.unmerge(merge.id, actor="agent:7")
    esc.send_message(handoff.id, "Your refund is on its way.")
    assert [m.to for m in sms.sent] == [PHONE, PHONE]
    assert _cancellations(esc, handoff.id) == []
