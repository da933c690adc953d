"""Store contract for the outbox's reconciliation methods, run once per store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalate import Channel, ConcurrentUpdate, Escalator, Identity, Workflow
from escalate.store import (
    Changes,
    Claim,
    OutboxItem,
    OutboxReport,
    OutboxStatus,
    OutboxUpdate,
    Store,
)
from escalate.testing import FakeClock
from escalate.workflow import SendMessage
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


def _message_rows(clock: FakeClock, *names: str) -> list[OutboxItem]:
    """One handoff's texts, due now, each after the one before it (``after``)."""
    rows: list[OutboxItem] = []
    for index, name in enumerate(names):
        rows.append(
            OutboxItem(
                id=f"ob_{name}",
                handoff_id="ho_1",
                idempotency_key=f"ho_1:2:{index}",
                command=SendMessage(
                    channel=Channel.SMS, to=Identity.phone("+14155550100"), body=name
                ),
                due_at=clock.now(),
                created_at=clock.now(),
                after=rows[-1].id if rows else None,
            )
        )
    return rows


def _claim(store: Store, clock: FakeClock, **kwargs: object) -> list[str]:
    claimed = store.claim_outbox(clock.now(), worker="w", lease=timedelta(minutes=1), **kwargs)  # type: ignore[arg-type]
    return [item.id for item in claimed]


def _settle(store: Store, item_id: str, status: OutboxStatus, **kwargs: object) -> None:
    row = store.get_outbox_item("default", item_id)
    assert row is not None
    update = OutboxUpdate(item_id, status, claimed_by=row.claimed_by or "", **kwargs)  # type: ignore[arg-type]
    store.commit(Changes(outbox_updates=(update,)))


def test_a_row_is_not_claimed_while_the_row_it_follows_is_pending_or_claimed(
    store: Store, clock: FakeClock
) -> None:
    """An intro retried later holds back the message queued after it, whatever their due times."""
    intro, message, last = _message_rows(clock, "intro", "message", "last")
    store.commit(Changes(outbox=(intro, message, last)))
    assert store.get_outbox_item("default", message.id).after == intro.id  # type: ignore[union-attr]
    assert _claim(store, clock) == [intro.id]
    assert _claim(store, clock) == []  # the intro is in flight
    _settle(store, intro.id, OutboxStatus.PENDING, due_at=clock.now() + timedelta(seconds=30))
    assert _claim(store, clock) == []  # the intro waits for its retry: so does the message
    assert _claim(store, clock, handoff_id="ho_1") == []
    clock.advance(seconds=30)
    assert _claim(store, clock, handoff_id="ho_1") == [intro.id]
    _settle(store, intro.id, OutboxStatus.DONE)
    assert _claim(store, clock) == [message.id]  # and the one after it waits in turn
    _settle(store, message.id, OutboxStatus.HELD)  # an unknown outcome ends the wait too
    assert _claim(store, clock) == [last.id]


@pytest.mark.parametrize("ended", [OutboxStatus.FAILED, OutboxStatus.CANCELLED, None])
def test_a_row_whose_predecessor_ended_or_is_gone_is_claimed(
    store: Store, clock: FakeClock, ended: OutboxStatus | None
) -> None:
    """Failed, cancelled, or erased with its address: the row it held back goes."""
    intro, message = _message_rows(clock, "intro", "message")
    store.commit(Changes(outbox=(intro, message)))
    if ended is None:
        store.erase_address("default", Identity.phone("+14155550199"), ())  # someone else's
        assert _claim(store, clock) == [intro.id]
        _settle(store, intro.id, OutboxStatus.DONE)
        assert _claim(store, clock) == [message.id]
        return
    assert _claim(store, clock) == [intro.id]
    _settle(store, intro.id, ended)
    assert _claim(store, clock) == [message.id]


def test_a_change_that_queues_a_row_after_another_claims_only_the_first(
    store: Store, clock: FakeClock
) -> None:
    """The claim a verb makes in its own commit (Changes.claim) keeps the order too."""
    intro, message = _message_rows(clock, "intro", "message")
    claim = Claim(clock.now(), "w", timedelta(minutes=1), tenant="default", handoff_id="ho_1")
    claimed = store.commit(Changes(outbox=(intro, message), claim=claim))
    assert [item.id for item in claimed] == [intro.id]
    assert [item.after for item in store.outbox("default")] == [None, intro.id]
