"""Builders for store records, and a snapshot of everything a store holds for a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Contact,
    Event,
    Handoff,
    HandoffState,
    Identity,
    Link,
    LinkSource,
    Purpose,
    Thread,
)
from escalate.consent import ConsentAction
from escalate.store import OutboxItem, Store, Timer
from escalate.workflow import SendMessage

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
FAR_FUTURE = T0 + timedelta(days=3650)
PHONE = Identity.phone("+14155550100")
OTHER_PHONE = Identity.phone("+14155550199")
AUTHOR = Identity.social("x", "42", "jane_d")


def thread(thread_id: str = "t1") -> Thread:
    return Thread(platform="x", thread_id=thread_id, author=AUTHOR, text="help", posted_at=T0)


def handoff(
    handoff_id: str = "ho_1",
    *,
    tenant: str = "default",
    thread_id: str = "t1",
    reference: str = "AAAA-11",
    version: int = 1,
    state: HandoffState = HandoffState.OPENED,
    contact_id: str | None = None,
) -> Handoff:
    return Handoff(
        id=handoff_id,
        tenant=tenant,
        reference=reference,
        thread=thread(thread_id),
        state=state,
        version=version,
        contact_id=contact_id,
        opened_at=T0,
        updated_at=T0,
    )


def moved(current: Handoff, **updates: Any) -> Handoff:
    """The next version of a handoff."""
    return current.model_copy(update={"version": current.version + 1, **updates})


def event(
    event_id: str,
    *,
    tenant: str = "default",
    handoff_id: str | None = "ho_1",
    contact_id: str | None = None,
    kind: str = "test.event",
) -> Event:
    return Event(
        id=event_id,
        tenant=tenant,
        kind=kind,
        at=T0,
        handoff_id=handoff_id,
        contact_id=contact_id,
    )


def outbox(
    item_id: str,
    *,
    tenant: str = "default",
    handoff_id: str = "ho_1",
    key: str | None = None,
    due_at: datetime = T0,
) -> OutboxItem:
    return OutboxItem(
        id=item_id,
        tenant=tenant,
        handoff_id=handoff_id,
        idempotency_key=key or f"key-{item_id}",
        command=SendMessage(channel=Channel.SMS, to=PHONE, body="hello"),
        due_at=due_at,
        created_at=T0,
    )


def timer(
    timer_id: str,
    *,
    name: str = "remind",
    handoff_id: str = "ho_1",
    tenant: str = "default",
    due_at: datetime = T0,
) -> Timer:
    return Timer(id=timer_id, tenant=tenant, handoff_id=handoff_id, name=name, due_at=due_at)


def contact(
    contact_id: str,
    *identities: Identity,
    tenant: str = "default",
    version: int = 1,
) -> Contact:
    links = tuple(
        Link(identity=identity, source=LinkSource.CUSTOMER_PROVIDED, at=T0)
        for identity in identities
    )
    return Contact(id=contact_id, tenant=tenant, links=links, created_at=T0, version=version)


def consent(
    record_id: str,
    *,
    address: Identity = PHONE,
    tenant: str = "default",
    action: ConsentAction = ConsentAction.GRANT,
    at: datetime = T0,
) -> ConsentRecord:
    return ConsentRecord(
        id=record_id,
        tenant=tenant,
        address=address,
        channel=Channel.SMS,
        purpose=Purpose.TRANSACTIONAL,
        action=action,
        evidence=ConsentEvidence(source=ConsentSource.API),
        at=at,
    )


@dataclass(frozen=True)
class Snapshot:
    handoffs: dict[str, Handoff | None]
    open_threads: dict[str, Handoff | None]
    contacts: dict[str, Contact | None]
    owners: dict[str, str | None]
    consent: list[tuple[str, str]]
    events: list[str]
    outbox: list[tuple[str, str, str | None]]
    timers: list[tuple[str, str]]


def snapshot(store: Store, tenant: str = "default") -> Snapshot:
    """Everything the contract tests write, as comparable values."""
    handoff_ids = ["ho_1", "ho_2", "ho_3"]
    contact_ids = ["ct_1", "ct_2", "ct_3"]
    identities = [PHONE, OTHER_PHONE, AUTHOR]
    return Snapshot(
        handoffs={hid: store.get_handoff(tenant, hid) for hid in handoff_ids},
        open_threads={tid: store.find_open_handoff(tenant, "x", tid) for tid in ("t1", "t2")},
        contacts={cid: store.get_contact(tenant, cid) for cid in contact_ids},
        owners={
            identity.value: getattr(store.resolve_identity(tenant, identity), "id", None)
            for identity in identities
        },
        consent=[
            (record.id, record.address.value)
            for identity in identities[:2]
            for record in store.consent_records(tenant, identity)
        ],
        events=[e.id for e in store.events(tenant)],
        outbox=[(item.id, item.status.value, item.claimed_by) for item in store.outbox(tenant)],
        timers=[(t.id, t.name) for t in store.due_timers(FAR_FUTURE) if t.tenant == tenant],
    )
