"""Store contract for the outbox's reconciliation methods, run once per store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalate import ConcurrentUpdate, Escalator, Workflow
from escalate.store import Changes, OutboxItem, OutboxReport, OutboxStatus, OutboxUpdate, Store
from escalate.testing import FakeClock
from tests.conftest import make_thread


def pending_rows(store: Store, clock: FakeClock, count: int) -> list[str]:
    """Open ``count`` handoffs without dispatching: each leaves one pending public reply row."""
    esc = Escalator(store, clock=clock, workflow=Workflow.default(), dispatch_immediately=False)
    for index in range(count):
        esc.open(make_thread(clock, thread_id=f"{5000 + index}", user_id=f"{9000 + index}"))
        clock.advance(seconds=1)
    return [item.id for item in store.outbox("default")]


def test_get_outbox_item_by_id_and_tenant(store: Store, clock: FakeClock) -> None:
    """A row is found by its id in its tenant only."""
    [row_id] = pending_rows(store, clock, 1)
    item = store.get_outbox_item("default", row_id)
    assert item is not None
    assert item.id == row_id
    assert item.status is OutboxStatus.PENDING
    assert store.get_outbox_item("other", row_id) is None
    assert store.get_outbox_item("default", "ob_missing") is None


def test_outbox_with_status_filters_orders_and_limits(store: Store, clock: FakeClock) -> None:
    """Rows in one status come back oldest first, at most ``limit`` of them."""
    ids = pending_rows(store, clock, 3)
    assert [i.id for i in store.outbox_with_status("default", OutboxStatus.PENDING)] == ids
    assert [
        i.id for i in store.outbox_with_status("default", OutboxStatus.PENDING, limit=2)
    ] == ids[:2]
    assert store.outbox_with_status("default", OutboxStatus.HELD) == []
    assert store.outbox_with_status("other", OutboxStatus.PENDING) == []


def test_from_status_update_moves_a_row_in_that_status(store: Store, clock: FakeClock) -> None:
    """An update guarded by from_status moves the row without a claim token."""
    ids = pending_rows(store, clock, 1)
    [claimed] = store.claim_outbox(clock.now(), worker="w", lease=timedelta(minutes=1))
    store.commit(
        Changes(
            outbox_updates=(
                OutboxUpdate(ids[0], OutboxStatus.HELD, claimed_by=claimed.claimed_by or ""),
            )
        )
    )
    store.commit(
        Changes(
            outbox_updates=(
                OutboxUpdate(
                    ids[0],
                    OutboxStatus.DONE,
                    result={"delivery_status": "delivered"},
                    from_status=OutboxStatus.HELD,
                ),
            )
        )
    )
    item = store.get_outbox_item("default", ids[0])
    assert item is not None
    assert (item.status, item.result) == (OutboxStatus.DONE, {"delivery_status": "delivered"})
    assert item.claimed_by is None
    assert item.lease_until is None


def test_from_status_update_of_a_moved_row_writes_nothing(store: Store, clock: FakeClock) -> None:
    """A guarded update of a row not in that status raises and rolls back the whole change."""
    [row_id] = pending_rows(store, clock, 1)
    before = len(store.events("default"))
    stale = OutboxUpdate(row_id, OutboxStatus.DONE, from_status=OutboxStatus.HELD)
    event = store.events("default")[0].model_copy(update={"id": "ev_new", "seq": None})
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(outbox_updates=(stale,), events=(event,)))
    item = store.get_outbox_item("default", row_id)
    assert item is not None
    assert item.status is OutboxStatus.PENDING
    assert len(store.events("default")) == before


def test_claimed_row_still_needs_its_claim_token(store: Store, clock: FakeClock) -> None:
    """Without from_status, only the holder of the claim token can settle a row."""
    pending_rows(store, clock, 1)
    [claimed] = store.claim_outbox(clock.now(), worker="w", lease=timedelta(minutes=1))
    with pytest.raises(ConcurrentUpdate):
        store.commit(
            Changes(outbox_updates=(OutboxUpdate(claimed.id, OutboxStatus.DONE, "w:other"),))
        )


def _claimed(store: Store, clock: FakeClock) -> OutboxItem:
    pending_rows(store, clock, 1)
    [claimed] = store.claim_outbox(clock.now(), worker="w", lease=timedelta(minutes=1))
    return claimed


FAILED = {"delivery_status": "failed", "error_code": "30003", "actor": "twilio"}
DELIVERED = {"actor": "twilio", "delivery_status": "delivered", "error_code": None}


def test_a_report_waits_on_a_claimed_row_until_it_settles(store: Store, clock: FakeClock) -> None:
    """An OutboxReport is kept on the claimed row, survives its stale re-claim, and any
    settlement clears it."""
    claimed = _claimed(store, clock)
    token = claimed.claimed_by or ""
    store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, FAILED),)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert (item.status, item.reported) == (OutboxStatus.CLAIMED, FAILED)
    clock.advance(minutes=2)
    [again] = store.claim_outbox(clock.now(), worker="w2", lease=timedelta(minutes=1))
    assert again.stale_claim
    assert again.reported == FAILED
    settle = OutboxUpdate(claimed.id, OutboxStatus.HELD, claimed_by=again.claimed_by or "")
    store.commit(Changes(outbox_updates=(settle,)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert (item.status, item.reported) == (OutboxStatus.HELD, None)


def test_a_report_needs_the_claim_and_the_report_it_read(store: Store, clock: FakeClock) -> None:
    """A report for a row no longer claimed by that token, or carrying another report than
    the one read, is refused and writes nothing; reports compare by content, not key order."""
    claimed = _claimed(store, clock)
    token = claimed.claimed_by or ""
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, "w:other", FAILED),)))
    store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, DELIVERED),)))
    with pytest.raises(ConcurrentUpdate):  # read before DELIVERED was written
        store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, FAILED),)))
    reordered = dict(reversed(list(DELIVERED.items())))
    store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, FAILED, reordered),)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert item.reported == FAILED


def test_a_checked_settlement_is_refused_by_a_report_it_did_not_expect(
    store: Store, clock: FakeClock
) -> None:
    """check_reported: a settlement built for a row without a report is refused once one came,
    and one built for that report settles it."""
    claimed = _claimed(store, clock)
    token = claimed.claimed_by or ""
    unreported = OutboxUpdate(claimed.id, OutboxStatus.DONE, token, check_reported=True)
    store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, FAILED),)))
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(outbox_updates=(unreported,)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert (item.status, item.reported) == (OutboxStatus.CLAIMED, FAILED)
    failed = OutboxUpdate(
        claimed.id, OutboxStatus.FAILED, token, check_reported=True, reported=FAILED
    )
    store.commit(Changes(outbox_updates=(failed,)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert (item.status, item.reported) == (OutboxStatus.FAILED, None)


def test_an_unchecked_settlement_clears_a_report(store: Store, clock: FakeClock) -> None:
    """A settlement that does not check (a retry put back) settles over a report and clears it."""
    claimed = _claimed(store, clock)
    token = claimed.claimed_by or ""
    store.commit(Changes(outbox_reports=(OutboxReport(claimed.id, token, FAILED),)))
    store.commit(Changes(outbox_updates=(OutboxUpdate(claimed.id, OutboxStatus.PENDING, token),)))
    item = store.get_outbox_item("default", claimed.id)
    assert item is not None
    assert (item.status, item.reported) == (OutboxStatus.PENDING, None)
