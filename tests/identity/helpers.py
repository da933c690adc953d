"""Helpers for the identity tests: a book per tenant and a snapshot of what a store holds."""

from __future__ import annotations

from typing import Any

from escalate import Identity
from escalate.identity import ContactBook
from escalate.store import Store
from escalate.testing import FakeClock

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
X_JANE = Identity.social("x", "42", "jane_d")
FB_JANE = Identity.social("facebook", "1001", "jane.doe")
OTHER_PHONE = Identity.phone("+14155550199")


def book(store: Store, clock: FakeClock, tenant: str = "default", **kwargs: Any) -> ContactBook:
    return ContactBook(store, tenant=tenant, clock=clock, **kwargs)


def snapshot(store: Store, tenants: tuple[str, ...] = ("default", "other")) -> object:
    """Everything observable through the Store protocol for the test identities and contacts."""
    state: list[object] = []
    for tenant in tenants:
        events = store.events(tenant)
        contact_ids = sorted({event.contact_id for event in events if event.contact_id})
        state.append([event.id for event in events])
        state.append([store.get_contact(tenant, cid) for cid in contact_ids])
        state.append(
            [
                store.resolve_identity(tenant, identity)
                for identity in (PHONE, EMAIL, X_JANE, FB_JANE, OTHER_PHONE)
            ]
        )
        state.append(store.merge_proposals(tenant))
    return state
