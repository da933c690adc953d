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
from escalate.audit._verify import AuditProblem, AuditReport, ProblemKind, verify_chains

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
    """Verify a tenant's whole audit log, or only one handoff's chain."""
    before_hashing = store.before_hashing(tenant)
    if handoff_id is None:
        return verify_chains(
            tenant,
            store.events(tenant),
            store.chain_heads(tenant),
            before_hashing=before_hashing,
        )
    return verify_chains(
        tenant,
        store.events(tenant, handoff_id=handoff_id),
        store.chain_heads(tenant),
        chains=(f"handoff:{handoff_id}",),
        before_hashing=before_hashing,
    )
