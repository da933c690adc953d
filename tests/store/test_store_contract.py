"""The Store contract: every store (the `store` fixture runs each) keeps these promises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from escalate import ConcurrentUpdate, HandoffState, StaleTimer
from escalate.consent import ConsentAction
from escalate.store import Changes, Claim, OutboxStatus, OutboxUpdate, Store
from tests.store._records import (
    AUTHOR,
    OTHER_PHONE,
    PHONE,
    T0,
    consent,
    contact,
    event,
    handoff,
    moved,
    outbox,
    snapshot,
    timer,
)

LEASE = timedelta(minutes=2)


def seed(store: Store) -> None:
    """A handoff, a contact owning PHONE, a pending outbox row, a timer, a consent record."""
    store.commit(
        Changes(
            handoffs=(handoff("ho_1", contact_id="ct_1"),),
            contacts=(contact("ct_1", AUTHOR, PHONE),),
            events=(event("ev_seed"),),
            outbox=(outbox("ob_seed", key="seed-key"),),
            timers=(timer("tm_seed", name="seed"),),
            consent=(consent("cr_seed"),),
        )
    )


# -- atomic commit ----------------------------------------------------------------

VIOLATIONS: dict[str, Callable[[Store], Changes]] = {
    "stale handoff version": lambda store: Changes(
        handoffs=(handoff("ho_1", version=1, state=HandoffState.ACKNOWLEDGED),)
    ),
    "skipped handoff version": lambda store: Changes(handoffs=(handoff("ho_1", version=3),)),
    "update of a missing handoff": lambda store: Changes(handoffs=(handoff("ho_3", version=2),)),
    "second open handoff for a thread": lambda store: Changes(
        handoffs=(handoff("ho_2", thread_id="t1", reference="BBBB-22"),)
    ),
    "two open handoffs for a thread in one change": lambda store: Changes(
        handoffs=(
            handoff("ho_2", thread_id="t2", reference="BBBB-22"),
            handoff("ho_3", thread_id="t2", reference="CCCC-33"),
        )
    ),
    "reused reference code": lambda store: Changes(
        handoffs=(handoff("ho_2", thread_id="t2", reference="AAAA-11"),)
    ),
    "reference code used twice in one change": lambda store: Changes(
        handoffs=(
            handoff("ho_2", thread_id="t2", reference="BBBB-22"),
            handoff("ho_3", thread_id="t3", reference="BBBB-22"),
        )
    ),
    "identity owned by another contact": lambda store: Changes(contacts=(contact("ct_2", PHONE),)),
    "stale contact version": lambda store: Changes(contacts=(contact("ct_1", OTHER_PHONE),)),
    "duplicate idempotency key": lambda store: Changes(outbox=(outbox("ob_2", key="seed-key"),)),
    "idempotency key used twice in one change": lambda store: Changes(
        outbox=(outbox("ob_2", key="k2"), outbox("ob_3", key="k2"))
    ),
    "settling a row claimed by someone else": lambda store: Changes(
        outbox_updates=(
            OutboxUpdate(item_id="ob_seed", status=OutboxStatus.DONE, claimed_by="intruder:1"),
        )
    ),
    "settling an unclaimed row": lambda store: Changes(
        outbox_updates=(
            OutboxUpdate(item_id="ob_seed", status=OutboxStatus.DONE, claimed_by="worker:1"),
        )
    ),
}


@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_a_change_breaking_any_rule_writes_nothing(store: Store, violation: str) -> None:
    """A change that breaks one rule raises ConcurrentUpdate and none of it is written."""
    seed(store)
    before = snapshot(store)
    bad = VIOLATIONS[violation](store)
    # Valid records of every kind ride along with the violation; none may land.
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    valid_move = moved(current, state=HandoffState.ACKNOWLEDGED)
    touches_ho1 = any(h.id == "ho_1" for h in bad.handoffs)
    change = Changes(
        handoffs=bad.handoffs if touches_ho1 else (valid_move, *bad.handoffs),
        contacts=(*bad.contacts, contact("ct_3", OTHER_PHONE)),
        consent=(consent("cr_new", address=OTHER_PHONE),),
        events=(event("ev_new"), event("ev_new_2", handoff_id=None, contact_id="ct_3")),
        outbox=(*bad.outbox, outbox("ob_new", key="new-key")),
        outbox_updates=bad.outbox_updates,
        timers=(timer("tm_new", name="new"), timer("tm_replace", name="seed")),
        cancel_timers=(("ho_1", "seed"),),
    )
    with pytest.raises(ConcurrentUpdate):
        store.commit(change)
    assert snapshot(store) == before


def test_transition_events_and_outbox_are_written_together(store: Store) -> None:
    """One commit writes the handoff's new version, its events and its outbox rows."""
    seed(store)
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(
        Changes(
            handoffs=(moved(current, state=HandoffState.ACKNOWLEDGED),),
            events=(event("ev_1"), event("ev_2")),
            outbox=(outbox("ob_1"),),
        )
    )
    stored = store.get_handoff("default", "ho_1")
    assert stored is not None
    assert (stored.state, stored.version) == (HandoffState.ACKNOWLEDGED, 2)
    assert [e.id for e in store.events("default")] == ["ev_seed", "ev_1", "ev_2"]
    assert sorted(item.id for item in store.outbox("default")) == ["ob_1", "ob_seed"]
    seqs = [e.seq or 0 for e in store.events("default")]
    assert all(seqs)
    assert seqs == sorted(seqs)


def test_a_closed_handoff_frees_its_thread(store: Store) -> None:
    """Once a thread's handoff is closed, a new open handoff for that thread is accepted."""
    seed(store)
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(Changes(handoffs=(moved(current, state=HandoffState.RESOLVED),)))
    assert store.find_open_handoff("default", "x", "t1") is None
    store.commit(Changes(handoffs=(handoff("ho_2", reference="BBBB-22"),)))
    reopened = store.find_open_handoff("default", "x", "t1")
    assert reopened is not None
    assert reopened.id == "ho_2"


def test_a_threads_handoffs_are_listed_closed_ones_too(store: Store) -> None:
    """``thread_handoffs``: every handoff of one thread, latest versions, oldest first."""
    seed(store)
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(Changes(handoffs=(moved(current, state=HandoffState.RESOLVED),)))
    store.commit(
        Changes(
            handoffs=(
                handoff("ho_2", reference="BBBB-22"),
                handoff("ho_3", thread_id="t2", reference="CCCC-33"),
                handoff("ho_4", tenant="acme", reference="DDDD-44"),
            )
        )
    )
    listed = store.thread_handoffs("default", "x", "t1")
    assert [(h.id, h.state) for h in listed] == [
        ("ho_1", HandoffState.RESOLVED),
        ("ho_2", HandoffState.OPENED),
    ]
    assert [h.id for h in store.thread_handoffs("default", "x", "t2")] == ["ho_3"]
    assert [h.id for h in store.thread_handoffs("acme", "x", "t1")] == ["ho_4"]
    assert store.thread_handoffs("default", "facebook", "t1") == []


def test_closing_and_reopening_a_thread_in_one_change(store: Store) -> None:
    """One change may close a thread's handoff and open its successor."""
    seed(store)
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(
        Changes(
            handoffs=(
                moved(current, state=HandoffState.FAILED),
                handoff("ho_2", reference="BBBB-22"),
            )
        )
    )
    assert getattr(store.find_open_handoff("default", "x", "t1"), "id", None) == "ho_2"


def test_contacts_resolve_by_identity_and_open_handoffs(store: Store) -> None:
    """An identity resolves to its contact; a contact lists its open handoffs, oldest first."""
    seed(store)
    found = store.resolve_identity("default", PHONE)
    assert found is not None
    assert found.id == "ct_1"
    assert store.resolve_identity("default", OTHER_PHONE) is None
    # A new contact version that drops PHONE releases it to another contact.
    store.commit(Changes(contacts=(contact("ct_1", AUTHOR, version=2),)))
    store.commit(Changes(contacts=(contact("ct_2", PHONE),)))
    assert getattr(store.resolve_identity("default", PHONE), "id", None) == "ct_2"
    assert [h.id for h in store.open_handoffs_for_contact("default", "ct_1")] == ["ho_1"]


# -- outbox claims ----------------------------------------------------------------


def test_claim_takes_due_rows_with_a_lease(store: Store) -> None:
    """A claim takes due pending rows once, and not rows due later."""
    seed(store)
    store.commit(Changes(outbox=(outbox("ob_later", due_at=T0 + timedelta(hours=1)),)))
    claimed = store.claim_outbox(T0, worker="w1", lease=LEASE)
    assert [item.id for item in claimed] == ["ob_seed"]
    item = claimed[0]
    assert item.status is OutboxStatus.CLAIMED
    assert item.lease_until == T0 + LEASE
    assert (item.attempts, item.stale_claim) == (1, False)
    assert item.claimed_by is not None
    assert item.claimed_by.startswith("w1")
    assert store.claim_outbox(T0 + timedelta(minutes=1), worker="w2", lease=LEASE) == []


def test_expired_lease_is_taken_over_and_old_owner_cannot_settle(store: Store) -> None:
    """An expired lease is taken over (stale_claim) and the first owner can no longer settle."""
    seed(store)
    (first,) = store.claim_outbox(T0, worker="w1", lease=LEASE)
    (second,) = store.claim_outbox(T0 + LEASE, worker="w2", lease=LEASE)
    assert second.id == first.id
    assert second.stale_claim is True
    assert second.attempts == 2
    assert second.claimed_by != first.claimed_by
    before = snapshot(store)
    with pytest.raises(ConcurrentUpdate):
        store.commit(
            Changes(
                outbox_updates=(
                    OutboxUpdate(
                        item_id=first.id,
                        status=OutboxStatus.DONE,
                        claimed_by=first.claimed_by or "",
                    ),
                ),
                events=(event("ev_late"),),
            )
        )
    assert snapshot(store) == before
    store.commit(
        Changes(
            outbox_updates=(
                OutboxUpdate(
                    item_id=second.id,
                    status=OutboxStatus.HELD,
                    claimed_by=second.claimed_by or "",
                    result={"reason": "lease_expired"},
                ),
            )
        )
    )
    (held,) = store.outbox("default")
    assert (held.status, held.claimed_by, held.result) == (
        OutboxStatus.HELD,
        None,
        {"reason": "lease_expired"},
    )
    assert store.claim_outbox(T0 + timedelta(days=1), worker="w3", lease=LEASE) == []


def test_settling_pending_with_due_at_reschedules(store: Store) -> None:
    """A row settled back to pending with a due time is claimed again only once that time comes."""
    seed(store)
    (item,) = store.claim_outbox(T0, worker="w1", lease=LEASE)
    retry_at = T0 + timedelta(seconds=30)
    store.commit(
        Changes(
            outbox_updates=(
                OutboxUpdate(
                    item_id=item.id,
                    status=OutboxStatus.PENDING,
                    claimed_by=item.claimed_by or "",
                    due_at=retry_at,
                ),
            )
        )
    )
    assert store.claim_outbox(retry_at - timedelta(seconds=1), worker="w1", lease=LEASE) == []
    (again,) = store.claim_outbox(retry_at, worker="w1", lease=LEASE)
    assert (again.attempts, again.stale_claim, again.due_at) == (2, False, retry_at)


def test_claim_respects_limit_and_handoff_filter(store: Store) -> None:
    """A claim takes at most `limit` rows, oldest due first, and only of one handoff if asked."""
    seed(store)
    store.commit(
        Changes(
            handoffs=(handoff("ho_2", thread_id="t2", reference="BBBB-22"),),
            outbox=(
                outbox("ob_a", handoff_id="ho_2", due_at=T0 - timedelta(minutes=2)),
                outbox("ob_b", handoff_id="ho_2", due_at=T0 - timedelta(minutes=1)),
            ),
        )
    )
    assert [i.id for i in store.claim_outbox(T0, worker="w", lease=LEASE, limit=1)] == ["ob_a"]
    only_ho1 = store.claim_outbox(T0, worker="w", lease=LEASE, handoff_id="ho_1")
    assert [i.id for i in only_ho1] == ["ob_seed"]


def test_claim_merges_pending_and_expired_rows_in_due_order(store: Store) -> None:
    """Pending rows and rows whose lease expired come out together, earliest due first."""
    seed(store)
    minute = timedelta(minutes=1)
    store.commit(
        Changes(
            outbox=tuple(
                outbox(f"ob_{offset}", key=f"key-{offset}", due_at=T0 + offset * minute)
                for offset in (-5, -4, -3, -2, -1)
            )
        )
    )
    # Claim the two earliest, then let their leases run out.
    taken = store.claim_outbox(T0 - 4 * minute, worker="w1", lease=LEASE, limit=2)
    assert {item.id for item in taken} == {"ob_-5", "ob_-4"}
    later = T0 - 4 * minute + LEASE
    claimed = store.claim_outbox(later, worker="w2", lease=LEASE, limit=3)
    assert {item.id: item.stale_claim for item in claimed} == {
        "ob_-5": True,
        "ob_-4": True,
        "ob_-3": False,
    }
    rest = store.claim_outbox(T0 - minute, worker="w2", lease=LEASE, limit=10)
    assert {item.id for item in rest} == {"ob_-2", "ob_-1"}


def test_a_change_can_claim_its_handoffs_due_rows_as_it_commits(store: Store) -> None:
    """A claim in a change takes, once the change is written, what claim_outbox would take."""
    seed(store)
    store.commit(Changes(handoffs=(handoff("ho_2", thread_id="t2", reference="BBBB-22"),)))
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    claim = Claim(now=T0, worker="w1", lease=LEASE, tenant="default", handoff_id="ho_1")
    claimed = store.commit(
        Changes(
            handoffs=(moved(current, state=HandoffState.ACKNOWLEDGED),),
            outbox=(
                outbox("ob_t0", key="new-key"),
                outbox("ob_later", key="later-key", due_at=T0 + timedelta(hours=1)),
                outbox("ob_other", key="other-key", handoff_id="ho_2"),
            ),
            claim=claim,
        )
    )
    # In claim order (due, created, id), with the row already due; not a row due
    # later, nor another handoff's.
    assert [item.id for item in claimed] == ["ob_seed", "ob_t0"]
    for item in claimed:
        assert item.status is OutboxStatus.CLAIMED
        assert item.lease_until == T0 + LEASE
        assert (item.attempts, item.stale_claim) == (1, False)
        assert (item.claimed_by or "").startswith("w1")
    assert claimed == [store.get_outbox_item("default", item.id) for item in claimed]
    assert store.claim_outbox(T0, worker="w2", lease=LEASE, handoff_id="ho_1") == []
    assert [i.id for i in store.claim_outbox(T0, worker="w2", lease=LEASE)] == ["ob_other"]
    assert store.commit(Changes(events=(event("ev_2"),))) == []


def test_a_claim_of_only_the_rows_a_change_wrote_returns_them_as_stored(store: Store) -> None:
    """Rows written and claimed in one change come back exactly as a read would give them."""
    store.commit(Changes(handoffs=(handoff("ho_1"),)))
    claim = Claim(now=T0, worker="w1", lease=LEASE, tenant="default", handoff_id="ho_1")
    claimed = store.commit(
        Changes(outbox=(outbox("ob_b", key="b"), outbox("ob_a", key="a")), claim=claim)
    )
    assert [item.id for item in claimed] == ["ob_a", "ob_b"]
    assert claimed == [store.get_outbox_item("default", item.id) for item in claimed]


def test_a_refused_change_claims_nothing(store: Store) -> None:
    """When a change is refused, its claim is not made either."""
    seed(store)
    stale = handoff("ho_1", version=1, state=HandoffState.ACKNOWLEDGED)
    claim = Claim(now=T0, worker="w1", lease=LEASE, tenant="default", handoff_id="ho_1")
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(handoffs=(stale,), claim=claim))
    assert [i.id for i in store.claim_outbox(T0, worker="w2", lease=LEASE)] == ["ob_seed"]


def test_a_new_version_may_move_the_handoffs_indexed_columns(store: Store) -> None:
    """A version that changes the contact or closes the handoff is found by its new values."""
    seed(store)
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(Changes(handoffs=(moved(current, contact_id="ct_2"),)))
    assert store.open_handoffs_for_contact("default", "ct_1") == []
    assert [h.id for h in store.open_handoffs_for_contact("default", "ct_2")] == ["ho_1"]
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(Changes(handoffs=(moved(current, state=HandoffState.CONNECTED),)))
    assert [h.id for h in store.open_handoffs_for_contact("default", "ct_2")] == ["ho_1"]
    current = store.get_handoff("default", "ho_1")
    assert current is not None
    store.commit(Changes(handoffs=(moved(current, state=HandoffState.RESOLVED),)))
    assert store.open_handoffs_for_contact("default", "ct_2") == []
    assert store.find_open_handoff("default", "x", "t1") is None
    stored = store.get_handoff("default", "ho_1")
    assert stored is not None
    assert (stored.state, stored.version, stored.contact_id) == (HandoffState.RESOLVED, 4, "ct_2")


def test_claimed_rows_come_in_due_order_not_creation_order(store: Store) -> None:
    """A row created later but due earlier is claimed, and returned, first."""
    store.commit(Changes(handoffs=(handoff("ho_1"),)))
    early = outbox("ob_made_first", key="first", due_at=T0)
    late = outbox("ob_made_later", key="later", due_at=T0 - timedelta(minutes=5))
    store.commit(Changes(outbox=(early,)))
    store.commit(Changes(outbox=(late.model_copy(update={"created_at": T0 + LEASE}),)))
    claimed = store.claim_outbox(T0 + LEASE, worker="w", lease=LEASE)
    assert [item.id for item in claimed] == ["ob_made_later", "ob_made_first"]


# -- timers -----------------------------------------------------------------------


def test_starting_a_timer_replaces_the_pending_one_of_that_name(store: Store) -> None:
    """Starting a timer again under the same name replaces the pending one."""
    seed(store)
    store.commit(Changes(timers=(timer("tm_1", name="remind", due_at=T0 + timedelta(hours=1)),)))
    store.commit(Changes(timers=(timer("tm_2", name="remind", due_at=T0 + timedelta(hours=2)),)))
    due = store.due_timers(T0 + timedelta(hours=3))
    assert [t.id for t in due] == ["tm_seed", "tm_2"]
    assert store.due_timers(T0 + timedelta(minutes=90)) == store.due_timers(T0)


def test_cancel_and_fire_remove_a_timer_from_due(store: Store) -> None:
    """A cancelled or fired timer is no longer due; cancelling a missing one is harmless."""
    seed(store)
    store.commit(Changes(timers=(timer("tm_1", name="remind"),)))
    store.commit(Changes(cancel_timers=(("ho_1", "remind"), ("ho_1", "no-such-timer"))))
    assert [t.id for t in store.due_timers(T0)] == ["tm_seed"]
    store.commit(Changes(fire_timers=("tm_seed",)))
    assert store.due_timers(T0 + timedelta(days=1)) == []
    store.commit(Changes(timers=(timer("tm_3", name="seed"),)))
    assert [t.id for t in store.due_timers(T0)] == ["tm_3"]


def test_moving_a_timer_moves_only_a_pending_one(store: Store) -> None:
    """A pending timer gets its new due time; a cancelled or missing one stays stopped."""
    seed(store)
    store.commit(Changes(timers=(timer("tm_1", name="remind", due_at=T0),)))
    later = T0 + timedelta(hours=5)
    store.commit(Changes(move_timers=(("ho_1", "remind", later),)))
    assert "tm_1" not in [t.id for t in store.due_timers(T0 + timedelta(hours=4))]
    assert "tm_1" in [t.id for t in store.due_timers(later)]
    store.commit(Changes(cancel_timers=(("ho_1", "remind"),)))
    store.commit(Changes(move_timers=(("ho_1", "remind", T0), ("ho_1", "no-such-timer", T0))))
    assert [t.id for t in store.due_timers(later)] == ["tm_seed"]


def test_firing_a_timer_that_is_no_longer_pending_is_refused_whole(store: Store) -> None:
    """Firing a cancelled or already-fired timer raises StaleTimer and writes nothing else."""
    seed(store)
    store.commit(Changes(timers=(timer("tm_1", name="remind"),)))
    store.commit(Changes(cancel_timers=(("ho_1", "remind"),)))
    before = len(store.events("default"))
    with pytest.raises(StaleTimer) as caught:
        store.commit(Changes(fire_timers=("tm_1",), events=(event("ev_stale"),)))
    assert caught.value.timer_id == "tm_1"
    assert isinstance(caught.value, ConcurrentUpdate)
    assert len(store.events("default")) == before
    store.commit(Changes(fire_timers=("tm_seed",)))
    with pytest.raises(StaleTimer):
        store.commit(Changes(fire_timers=("tm_seed",)))
    with pytest.raises(StaleTimer):
        store.commit(Changes(fire_timers=("tm_missing",)))


def test_a_timer_can_fire_and_be_restarted_in_one_change(store: Store) -> None:
    """The transition a timer causes may cancel or restart that same timer in its commit."""
    seed(store)
    store.commit(
        Changes(
            fire_timers=("tm_seed",),
            cancel_timers=(("ho_1", "seed"),),
            timers=(timer("tm_next", name="seed", due_at=T0 + timedelta(hours=1)),),
        )
    )
    assert [t.id for t in store.due_timers(T0 + timedelta(hours=2))] == ["tm_next"]


def test_due_timers_are_earliest_first_and_limited(store: Store) -> None:
    """Due timers come earliest first, only those due by now, at most `limit`."""
    seed(store)
    store.commit(Changes(fire_timers=("tm_seed",)))
    offsets = [5, 1, 3, 9]
    store.commit(
        Changes(
            timers=tuple(
                timer(f"tm_{m}", name=f"n{m}", due_at=T0 + timedelta(minutes=m)) for m in offsets
            )
        )
    )
    due = store.due_timers(T0 + timedelta(minutes=5))
    assert [t.id for t in due] == ["tm_1", "tm_3", "tm_5"]
    assert [t.due_at for t in due] == sorted(t.due_at for t in due)
    assert [t.id for t in store.due_timers(T0 + timedelta(minutes=5), limit=2)] == ["tm_1", "tm_3"]


# -- consent, events ----------------------------------------------------------------


def test_consent_records_keep_write_order(store: Store) -> None:
    """Consent records of an address come back in the order written, each with a rising seq."""
    seed(store)
    store.commit(Changes(consent=(consent("cr_2", action=ConsentAction.REVOKE),)))
    store.commit(Changes(consent=(consent("cr_other", address=OTHER_PHONE),)))
    store.commit(Changes(consent=(consent("cr_3", at=T0 - timedelta(days=1)),)))
    records = store.consent_records("default", PHONE)
    assert [r.id for r in records] == ["cr_seed", "cr_2", "cr_3"]
    seqs = [r.seq or 0 for r in records]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 3
    assert [r.id for r in store.consent_records("default", OTHER_PHONE)] == ["cr_other"]


def test_events_filter_by_handoff_and_contact(store: Store) -> None:
    """Events can be read for one handoff, one contact, or both, oldest first."""
    seed(store)
    store.commit(
        Changes(
            events=(
                event("ev_h2", handoff_id="ho_2"),
                event("ev_c1", handoff_id=None, contact_id="ct_1"),
                event("ev_h1c1", handoff_id="ho_1", contact_id="ct_1"),
            )
        )
    )
    assert [e.id for e in store.events("default", handoff_id="ho_1")] == ["ev_seed", "ev_h1c1"]
    assert [e.id for e in store.events("default", contact_id="ct_1")] == ["ev_c1", "ev_h1c1"]
    both = store.events("default", handoff_id="ho_1", contact_id="ct_1")
    assert [e.id for e in both] == ["ev_h1c1"]
    assert store.events("default", handoff_id="nope") == []


# -- tenants ----------------------------------------------------------------------


def test_nothing_is_read_across_tenants(store: Store) -> None:
    """Records of one tenant are invisible to another, and the same keys coexist in both."""
    seed(store)
    empty = snapshot(store, "acme")
    assert all(value is None for value in empty.handoffs.values())
    assert all(value is None for value in empty.contacts.values())
    assert all(value is None for value in empty.owners.values())
    assert (empty.consent, empty.events, empty.outbox, empty.timers) == ([], [], [], [])
    assert store.open_handoffs_for_contact("acme", "ct_1") == []
    assert store.claim_outbox(T0, worker="w", lease=LEASE, tenant="acme") == []
    assert store.due_timers(T0, tenant="acme") == []
    # The same thread, reference and identity may live in another tenant.
    store.commit(
        Changes(
            handoffs=(handoff("ho_9", tenant="acme"),),
            contacts=(contact("ct_9", PHONE, tenant="acme"),),
            events=(event("ev_9", tenant="acme", handoff_id="ho_9"),),
            outbox=(outbox("ob_9", tenant="acme", handoff_id="ho_9"),),
            timers=(timer("tm_9", tenant="acme", handoff_id="ho_9"),),
            consent=(consent("cr_9", tenant="acme"),),
        )
    )
    assert getattr(store.find_open_handoff("acme", "x", "t1"), "id", None) == "ho_9"
    assert getattr(store.find_open_handoff("default", "x", "t1"), "id", None) == "ho_1"
    assert getattr(store.resolve_identity("acme", PHONE), "id", None) == "ct_9"
    assert getattr(store.resolve_identity("default", PHONE), "id", None) == "ct_1"
    assert [e.id for e in store.events("acme")] == ["ev_9"]
    assert [r.id for r in store.consent_records("acme", PHONE)] == ["cr_9"]
    assert [i.id for i in store.outbox("acme")] == ["ob_9"]
    claimed = store.claim_outbox(T0, worker="w", lease=LEASE, tenant="acme")
    assert [i.id for i in claimed] == ["ob_9"]
    assert [t.id for t in store.due_timers(T0, tenant="acme")] == ["tm_9"]
    assert [t.id for t in store.due_timers(T0, tenant="default")] == ["tm_seed"]


def test_a_handoff_is_found_by_its_reference_in_its_tenant_only(store: Store) -> None:
    """find_handoff_by_reference finds open and closed handoffs, never another tenant's."""
    seed(store)
    found = store.find_handoff_by_reference("default", "AAAA-11")
    assert found is not None
    assert found.id == "ho_1"
    assert store.find_handoff_by_reference("other", "AAAA-11") is None
    assert store.find_handoff_by_reference("default", "ZZZZ-99") is None


def test_get_handoffs_reads_many_at_once_in_its_tenant_only(store: Store) -> None:
    """get_handoffs returns the handoffs found, by id, and leaves out unknown ids."""
    seed(store)
    second = handoff("ho_2", thread_id="t2", reference="BBBB-22")
    elsewhere = handoff("ho_3", tenant="other", thread_id="t3", reference="CCCC-33")
    store.commit(Changes(handoffs=(second,)))
    store.commit(Changes(handoffs=(elsewhere,)))
    found = store.get_handoffs("default", ["ho_2", "ho_1", "ho_3", "ho_missing"])
    assert found == {"ho_1": store.get_handoff("default", "ho_1"), "ho_2": second}
    assert store.get_handoffs("other", ["ho_1", "ho_3"]) == {"ho_3": elsewhere}
