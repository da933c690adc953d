"""The tamper-evident audit log: hash chains written by the stores, and their verification.

See ``docs/audit.md``. ``Escalator.verify_log()`` is the usual entry point;
``verify_store`` does the same for a store and tenant without an escalator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalate.audit._chain import (
    BeforeHashing,
    ChainHead,
    ChainKey,
    canonical_content,
    chain_of,
    event_hash,
    link_events,
)
from escalate.audit._stored import StoredEvents
from escalate.audit._verify import (
    AuditProblem,
    AuditReport,
    ProblemKind,
    verify_chains,
    verify_entries,
)

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = [
    "AuditProblem",
    "AuditReport",
    "BeforeHashing",
    "ChainHead",
    "ChainKey",
    "ProblemKind",
    "canonical_content",
    "chain_of",
    "event_hash",
    "link_events",
    "verify_chains",
    "verify_store",
]


def verify_store(store: Store, tenant: str, *, handoff_id: str | None = None) -> AuditReport:
    """Verify a tenant's whole audit log, or only one handoff's chain.

    A store that keeps events as text (``SQLiteStore``) is checked row by row as
    stored, so a row edited into something that no longer reads as an event is
    reported as ``edited`` and the rest is still checked.
    """
    before_hashing = store.before_hashing(tenant)
    chains = None if handoff_id is None else (f"handoff:{handoff_id}",)
    heads = store.chain_heads(tenant)
    if isinstance(store, StoredEvents):
        return verify_entries(
            tenant,
            store.audit_entries(tenant, handoff_id=handoff_id),
            heads,
            chains=chains,
            before_hashing=before_hashing,
        )
    return verify_chains(
        tenant,
        store.events(tenant, handoff_id=handoff_id),
        heads,
        chains=chains,
        before_hashing=before_hashing,
    )
