"""capture_events(): the audit events written during a block, from any store."""

from __future__ import annotations

import pytest

from escalate import Escalator, Event, Identity, InvalidInput
from escalate.store import Changes, Store
from escalate.testing import FakeClock, capture_events
from tests.conftest import WEB_FORM_CONSENT, make_thread


def test_captures_only_the_block(esc: Escalator, clock: FakeClock) -> None:
    """Events written before or after the block are left out; those inside are kept, in order."""
    handoff = esc.open(make_thread(clock))
    before = {event.id for event in esc.history(handoff.id)}
    with capture_events(esc) as events:
        assert list(events) == []
        esc.contact_provided(handoff.id, Identity.phone("+14155550100"), consent=WEB_FORM_CONSENT)
        inside = [event for event in esc.history(handoff.id) if event.id not in before]
        assert list(events) == inside  # live while the block runs
    esc.resolve(handoff.id)
    assert list(events) == inside  # frozen after it
    assert {"contact.linked", "consent.recorded", "message.sent"} <= set(events.kinds)
    seqs = [event.seq or 0 for event in events]
    assert seqs == sorted(seqs)
    assert events[-1] == inside[-1]
    assert list(events[1:3]) == inside[1:3]
    assert events.of_kind("message.sent", "consent.recorded") == [
        event for event in inside if event.kind in ("message.sent", "consent.recorded")
    ]


def test_reads_a_store_directly_and_filters_by_handoff(
    store: Store, esc: Escalator, clock: FakeClock
) -> None:
    """Given a Store and a handoff id, only that handoff's new events are captured."""
    first = esc.open(make_thread(clock, thread_id="1"))
    before = {event.id for event in esc.history(first.id)}
    with capture_events(store, handoff_id=first.id) as events:
        esc.open(make_thread(clock, thread_id="2", user_id="43"))
        esc.resolve(first.id)
    assert "handoff.transition" in events.kinds
    assert list(events) == [e for e in esc.history(first.id) if e.id not in before]


def test_other_tenants_are_not_captured(store: Store, clock: FakeClock) -> None:
    """Events of another tenant in the same store stay out of the capture."""
    ours = Escalator(store, clock=clock, tenant="acme")
    theirs = Escalator(store, clock=clock, tenant="globex")
    with capture_events(ours) as events:
        theirs.open(make_thread(clock))
        ours.open(make_thread(clock, thread_id="2"))
    assert events.kinds.count("handoff.opened") == 1
    assert {event.tenant for event in events} == {"acme"}
    with capture_events(store, tenant="globex") as nothing:
        ours.open(make_thread(clock, thread_id="3"))
    assert list(nothing) == []


def test_repr_names_kinds_only(esc: Escalator, clock: FakeClock) -> None:
    """The repr lists event kinds and no (even redacted) address."""
    handoff = esc.open(make_thread(clock))
    with capture_events(esc) as events:
        esc.contact_provided(handoff.id, Identity.phone("+14155550100"), consent=WEB_FORM_CONSENT)
    text = repr(events)
    assert text.startswith("CapturedEvents(['contact.linked'")
    assert "+1" not in text


def test_rejects_other_sources() -> None:
    """Anything but an Escalator or a Store is refused with InvalidInput."""
    with pytest.raises(InvalidInput), capture_events("memory://"):  # type: ignore[arg-type]
        pass


def test_a_misspelt_kind_is_refused_with_close_matches(esc: Escalator, clock: FakeClock) -> None:
    """of_kind("mesage.sent") raises instead of returning [] for ever; it names message.sent."""
    handoff = esc.open(make_thread(clock))
    with capture_events(esc) as events:
        esc.resolve(handoff.id)
    assert events.of_kind("message.sent") == []  # a real kind that did not happen
    with pytest.raises(InvalidInput, match=r"did you mean 'message\.sent'"):
        events.of_kind("mesage.sent")
    with pytest.raises(InvalidInput, match=r"did you mean 'handoff\.transition'"):
        events.of_kind("handoff.transition", "handoff.transiton")
    with pytest.raises(InvalidInput, match="at least one"):
        events.of_kind()
    with pytest.raises(InvalidInput, match="separate strings"):
        events.of_kind(["message.sent"])  # type: ignore[arg-type]


def test_an_applications_own_kinds_are_accepted(store: Store, clock: FakeClock) -> None:
    """A kind the application writes is accepted once in the log, or declared with own_kinds."""
    esc = Escalator(store, clock=clock)
    with capture_events(esc, own_kinds=["crm.synced"]) as events:
        pass
    assert events.of_kind("crm.synced") == []  # declared, never written
    with pytest.raises(InvalidInput, match=r"did you mean 'crm\.synced'"):
        events.of_kind("crm.synched")
    mine = Event(id="ev_mine", kind="crm.synced", at=clock.now())
    with capture_events(esc) as written:
        store.commit(Changes(events=(mine,)))
    assert [event.id for event in written.of_kind("crm.synced")] == ["ev_mine"]
    with capture_events(esc, own_kinds="crm.exported") as single:  # one kind, not its letters
        pass
    assert single.of_kind("crm.exported") == []
    with pytest.raises(InvalidInput, match="non-empty strings"):
        capture_events(esc, own_kinds=[""]).__enter__()


def test_a_misspelt_handoff_id_is_refused(esc: Escalator, clock: FakeClock) -> None:
    """A handoff_id the tenant does not have would capture nothing: refused."""
    handoff = esc.open(make_thread(clock))
    with pytest.raises(InvalidInput, match="no handoff"):
        capture_events(esc, handoff_id=handoff.id + "x").__enter__()
    with capture_events(esc, handoff_id=handoff.id) as events:
        esc.resolve(handoff.id)
    assert events.kinds == ["handoff.transition"]
