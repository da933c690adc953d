"""Bad input to identity verbs raises a typed error and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from escalate import (
    Contact,
    ContactMerged,
    CrossTenantError,
    Identity,
    IdentityTaken,
    InvalidIdentity,
    InvalidInput,
    LinkSource,
    NotFound,
)
from escalate.identity import ContactBook
from escalate.store import Store
from escalate.testing import FakeClock
from tests.identity.helpers import EMAIL, PHONE, X_JANE, book, snapshot


@pytest.mark.parametrize(
    "build",
    [
        lambda: Identity.social("myspace", "42"),
        lambda: Identity.social("x", ""),
        lambda: Identity.social("x", "   "),
        lambda: Identity.social("x", "@jane_d"),
        lambda: Identity.phone("555-0100", region="US"),
        lambda: Identity.phone("+1 415 555 01001234"),
        lambda: Identity.phone("not a number"),
        lambda: Identity.phone("415 555 0100", region="XX"),
        lambda: Identity.email("jane@"),
    ],
    ids=[
        "unknown-platform",
        "empty-user-id",
        "blank-user-id",
        "handle-as-id",
        "short-phone",
        "long-phone",
        "text-phone",
        "unknown-region",
        "bad-email",
    ],
)
def test_malformed_identities_raise_invalid_identity(build: Callable[[], Identity]) -> None:
    """An identity that cannot be normalized raises InvalidIdentity (a ValueError)."""
    with pytest.raises(InvalidIdentity):
        build()


@dataclass
class World:
    home: ContactBook
    away: ContactBook
    a: Contact
    b: Contact
    c: Contact
    foreign: Contact


def _world(store: Store, clock: FakeClock) -> World:
    home = book(store, clock)
    away = book(store, clock, tenant="other")
    a = home.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    b = home.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    clock.advance(minutes=1)
    c = home.create(EMAIL, LinkSource.CUSTOMER_PROVIDED)
    home.merge(b, c, "checked")  # c is now a tombstone
    foreign = away.create(Identity.phone("+14155550142"), LinkSource.CRM_IMPORT)
    return World(home, away, a, b, c, foreign)


CASES: list[tuple[str, type[Exception], Callable[[World], object]]] = [
    ("cross-tenant-merge", CrossTenantError, lambda w: w.home.merge(w.a, w.foreign, "x")),
    ("cross-tenant-merge-by-id", NotFound, lambda w: w.home.merge(w.a, w.foreign.id, "x")),
    (
        "cross-tenant-link",
        CrossTenantError,
        lambda w: w.home.link(w.foreign, Identity.email("z@example.com"), "agent_entered"),
    ),
    ("cross-tenant-unlink", CrossTenantError, lambda w: w.away.unlink(w.a, X_JANE)),
    (
        "cross-tenant-propose",
        CrossTenantError,
        lambda w: w.away.propose(w.a, w.foreign, PHONE, "identity_claimed_unverified"),
    ),
    ("merge-tombstone", ContactMerged, lambda w: w.home.merge(w.a, w.c, "x")),
    ("merge-tombstone-by-id", ContactMerged, lambda w: w.home.merge(w.c.id, w.a.id, "x")),
    ("merge-self", InvalidInput, lambda w: w.home.merge(w.a, w.a, "x")),
    ("merge-no-reason", InvalidInput, lambda w: w.home.merge(w.a, w.b, " ")),
    ("unlink-tombstone", ContactMerged, lambda w: w.home.unlink(w.c, EMAIL)),
    ("unlink-not-held", NotFound, lambda w: w.home.unlink(w.a, PHONE)),
    ("link-taken", IdentityTaken, lambda w: w.home.link(w.a, PHONE, "agent_entered")),
    (
        "link-unknown-source",
        InvalidInput,
        lambda w: w.home.link(w.a, Identity.email("q@example.com"), "gossip"),
    ),
    (
        "link-claims-verified",
        InvalidInput,
        lambda w: w.home.link(w.a, Identity.email("q@example.com"), "verified"),
    ),
    (
        "link-bad-confidence",
        InvalidInput,
        lambda w: w.home.link(w.a, Identity.email("q@example.com"), "extracted", confidence=1.5),
    ),
    ("link-not-identity", InvalidInput, lambda w: w.home.link(w.a, "+14155550100", "extracted")),
    (
        "link-unknown-contact",
        NotFound,
        lambda w: w.home.link("ct_missing", Identity.email("q@example.com"), "extracted"),
    ),
    ("unmerge-unknown", NotFound, lambda w: w.home.unmerge("mg_missing")),
    ("create-taken", IdentityTaken, lambda w: w.home.create(PHONE, "crm_import")),
    ("social-verification", InvalidInput, lambda w: w.home.start_verification(w.a, X_JANE)),
    (
        "verification-bad-actor",
        InvalidInput,
        lambda w: w.home.start_verification(w.a, Identity.email("q@example.com"), actor=5),  # type: ignore[arg-type]
    ),
    (
        "propose-not-identity",
        InvalidInput,
        lambda w: w.home.propose(w.a, w.b, "+14155550100", "r"),  # type: ignore[arg-type]
    ),
]


@pytest.mark.parametrize(("name", "error", "call"), CASES, ids=[case[0] for case in CASES])
def test_refused_verbs_change_nothing(
    store: Store,
    clock: FakeClock,
    name: str,
    error: type[Exception],
    call: Callable[[World], object],
) -> None:
    """Each refused verb raises its typed error and the store holds exactly what it held."""
    world = _world(store, clock)
    before = snapshot(store)
    with pytest.raises(error):
        call(world)
    assert snapshot(store) == before


def test_cross_tenant_unmerge_is_not_found(store: Store, clock: FakeClock) -> None:
    """One tenant cannot undo, or even see, another tenant's merge."""
    home, away = book(store, clock), book(store, clock, tenant="other")
    a = home.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    b = home.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    _, record = home.merge_with_record(a, b, "checked")
    before = snapshot(store)
    with pytest.raises(NotFound):
        away.unmerge(record.id)
    assert away.get(a.id) is None
    assert away.resolve(PHONE) is None
    assert snapshot(store) == before
