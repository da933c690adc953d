"""Verifying the audit log: recompute every chain and compare it with its recorded head.

``verify_chains`` is pure (events and heads in, a report out); ``Escalator.verify_log``
feeds it from the store. What it can and cannot see is spelled out in
``docs/audit.md``; in short, an edited, deleted, inserted or reordered event is
found, as is the removal of a chain's newest events, unless whoever edited the
database also recomputed every later hash and the head.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from escalate._enum import StrEnum
from escalate._models import Event
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, chain_of, event_hash

__all__ = [
    "EDITED",
    "AuditEntry",
    "AuditProblem",
    "AuditReport",
    "ProblemKind",
    "verify_chains",
    "verify_entries",
]


class ProblemKind(StrEnum):
    """What kind of tampering a problem points to."""

    #: The event's content no longer matches its hash: it was edited.
    EDITED = "edited"
    #: The event's predecessor is not in the log: an event before it was deleted.
    MISSING = "missing"
    #: The event links to an event that is present but not just before it:
    #: events were reordered, or one was inserted between them.
    OUT_OF_ORDER = "out_of_order"
    #: An event without a hash where the store holds none from before hashing
    #: (after the chain's first hashed event, or above the row where hashing
    #: began), or more such events than the store recorded: written around the
    #: store, or its hash was removed.
    UNHASHED = "unhashed"
    #: The chain's newest event is not its recorded head: its newest events
    #: were deleted, or events were appended around the store.
    HEAD_MISMATCH = "head_mismatch"
    #: A chain with hashed events but no recorded head: the head was deleted.
    UNANCHORED = "unanchored"


class AuditProblem(BaseModel):
    """One inconsistency found in one chain.

    Attributes:
        kind: what it points to.
        chain: ``handoff:<id>``, ``contact:<id>`` or ``tenant``.
        event_id: the event where it was seen, when there is one.
        seq: that event's position in the log.
        detail: a sentence for a person.
    """

    model_config = ConfigDict(frozen=True)

    kind: ProblemKind
    chain: str
    event_id: str | None = None
    seq: int | None = None
    detail: str


class AuditReport(BaseModel):
    """The result of verifying a tenant's audit log (or one handoff's chain).

    Attributes:
        tenant: the tenant verified.
        chains: how many chains were checked.
        events_verified: hashed events whose hash and link were checked.
        events_before_hashing: events written before hashing began (schema
            version 4); they are listed in no chain and cannot be verified.
        problems: everything found, in log order per chain.
        heads: the heads the check compared against; keep a copy elsewhere to
            detect a rewrite of the whole chain (see ``docs/audit.md``).
    """

    model_config = ConfigDict(frozen=True)

    tenant: str
    chains: int
    events_verified: int
    events_before_hashing: int
    problems: tuple[AuditProblem, ...]
    heads: tuple[ChainHead, ...]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


class AuditEntry(NamedTuple):
    """One audit event as verification sees it: where it sits, its links, its verdict.

    ``verify_chains`` makes one from each ``Event``; a store that keeps events as
    text makes them from its rows (``escalate.audit._stored``), so a row that no
    longer reads as an event is still placed on its chain and reported.
    """

    tenant: str
    chain: str
    event_id: str
    seq: int | None
    prev_hash: str | None
    hash: str | None
    #: Why the content does not match the hash; ``None`` when it does (or there is no hash).
    fault: str | None = None


#: The fault of an event whose content, as read, no longer hashes to its ``hash``.
EDITED = "content does not match its hash"


def verify_chains(
    tenant: str,
    events: Iterable[Event],
    heads: Iterable[ChainHead],
    *,
    chains: Iterable[str] | None = None,
    before_hashing: BeforeHashing | None = None,
) -> AuditReport:
    """Check every chain found in ``events`` and ``heads``.

    Args:
        tenant: the tenant the events and heads belong to.
        events: the events, in any order (they are ordered by ``seq``).
        heads: the recorded chain heads.
        chains: check only these chain names (``handoff:<id>`` ...); default all.
        before_hashing: the store's record of the tenant's events from before
            hashing (``store.before_hashing(tenant)``). Without it, unhashed
            events that open a chain are taken as from before hashing, unchecked;
            with it, only those at or below its ``last_seq``, and (when every
            chain is checked) only as many as it records.
    """
    wanted = None if chains is None else set(chains)
    entries: list[AuditEntry] = []
    for event in events:
        chain = chain_of(event)
        # Filtered before hashing: only the events checked are worth hashing.
        if event.tenant == tenant and (wanted is None or chain in wanted):
            entries.append(_entry_of(event, chain))
    return verify_entries(tenant, entries, heads, chains=wanted, before_hashing=before_hashing)


def _entry_of(event: Event, chain: str) -> AuditEntry:
    fault = None
    if event.hash is not None and event_hash(event.prev_hash, event) != event.hash:
        fault = EDITED
    return AuditEntry(event.tenant, chain, event.id, event.seq, event.prev_hash, event.hash, fault)


def verify_entries(
    tenant: str,
    entries: Iterable[AuditEntry],
    heads: Iterable[ChainHead],
    *,
    chains: Iterable[str] | None = None,
    before_hashing: BeforeHashing | None = None,
) -> AuditReport:
    """``verify_chains`` on entries whose content was already checked against their hash."""
    wanted = None if chains is None else set(chains)
    by_chain: dict[str, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        if entry.tenant == tenant and (wanted is None or entry.chain in wanted):
            by_chain[entry.chain].append(entry)
    head_of: dict[ChainKey, ChainHead] = {
        head.key: head
        for head in heads
        if head.tenant == tenant and (wanted is None or head.chain in wanted)
    }
    problems: list[AuditProblem] = []
    verified = legacy = 0
    names = sorted(set(by_chain) | {chain for _, chain in head_of})
    for chain in names:
        ordered = sorted(by_chain.get(chain, ()), key=lambda entry: entry.seq or 0)
        found = len(problems)
        checked, skipped, last_hash = _check_chain(chain, ordered, problems, before_hashing)
        verified += checked
        legacy += skipped
        head = head_of.get((tenant, chain))
        # A chain with a broken link cannot have the head's length: say it once.
        count = checked if len(problems) == found else None
        _check_head(chain, head, ordered, problems, checked=count, last_hash=last_hash)
    if before_hashing is not None and wanted is None and legacy != before_hashing.events:
        problems.append(_legacy_count_problem(legacy, before_hashing.events))
    return AuditReport(
        tenant=tenant,
        chains=len(names),
        events_verified=verified,
        events_before_hashing=legacy,
        problems=tuple(problems),
        heads=tuple(sorted(head_of.values(), key=lambda head: head.chain)),
    )


def _check_chain(
    chain: str,
    ordered: list[AuditEntry],
    problems: list[AuditProblem],
    before_hashing: BeforeHashing | None,
) -> tuple[int, int, str | None]:
    """Walk one chain; return (hashed events checked, unhashed leading events, last hash)."""
    position = {entry.hash: index for index, entry in enumerate(ordered) if entry.hash}
    previous: str | None = None
    checked = legacy = 0
    for index, entry in enumerate(ordered):
        if entry.hash is None:
            # Leading unhashed events pass as pre-hashing only where the store
            # says such events can be: else anyone could prepend unhashed rows
            # (or strip a chain's hashes and head) and have them pass unchecked.
            if checked or not _may_predate_hashing(entry, before_hashing):
                problems.append(_problem(ProblemKind.UNHASHED, chain, entry, "event has no hash"))
            else:
                legacy += 1  # written before hashing began: verification starts after it
            continue
        if entry.prev_hash != previous:
            problems.append(_link_problem(chain, entry, index, position))
        if entry.fault is not None:
            problems.append(_problem(ProblemKind.EDITED, chain, entry, entry.fault))
        previous = entry.hash
        checked += 1
    return checked, legacy, previous


def _may_predate_hashing(entry: AuditEntry, before_hashing: BeforeHashing | None) -> bool:
    if before_hashing is None:  # unknown: any chain may have begun before hashing
        return True
    return (
        bool(before_hashing.events)
        and entry.seq is not None
        and entry.seq <= before_hashing.last_seq
    )


def _legacy_count_problem(found: int, recorded: int) -> AuditProblem:
    chain = "(before hashing)"
    if found < recorded:
        detail = f"{recorded - found} of {recorded} events from before hashing are missing: deleted"
        return AuditProblem(kind=ProblemKind.MISSING, chain=chain, detail=detail)
    detail = f"{found} events from before hashing, the store recorded {recorded}: inserted"
    return AuditProblem(kind=ProblemKind.UNHASHED, chain=chain, detail=detail)


def _link_problem(
    chain: str, entry: AuditEntry, index: int, position: dict[str, int]
) -> AuditProblem:
    if entry.prev_hash is None:
        detail = "event claims to start the chain but follows other events: inserted or reordered"
        return _problem(ProblemKind.OUT_OF_ORDER, chain, entry, detail)
    linked_to = position.get(entry.prev_hash)
    if linked_to is None:
        detail = "the event before it is missing: deleted (or rewritten)"
        return _problem(ProblemKind.MISSING, chain, entry, detail)
    where = "after" if linked_to > index else "before"
    detail = f"links to an event {where} it, not the one just before: inserted or reordered"
    return _problem(ProblemKind.OUT_OF_ORDER, chain, entry, detail)


def _check_head(
    chain: str,
    head: ChainHead | None,
    ordered: list[AuditEntry],
    problems: list[AuditProblem],
    *,
    checked: int | None,
    last_hash: str | None,
) -> None:
    if head is None:
        if last_hash is not None:
            detail = "hashed events but no recorded head: the head was deleted"
            problems.append(AuditProblem(kind=ProblemKind.UNANCHORED, chain=chain, detail=detail))
        return
    last = next((entry for entry in reversed(ordered) if entry.hash), None)
    if last_hash != head.hash:
        present = any(entry.hash == head.hash for entry in ordered)
        detail = (
            "events were appended after the recorded head"
            if present
            else "the chain's newest events are missing: deleted"
        )
        problems.append(
            AuditProblem(
                kind=ProblemKind.HEAD_MISMATCH,
                chain=chain,
                event_id=last.event_id if last else None,
                seq=last.seq if last else None,
                detail=detail,
            )
        )
    elif checked is not None and checked != head.length:
        detail = f"the head records {head.length} events, the log holds {checked}"
        problems.append(AuditProblem(kind=ProblemKind.HEAD_MISMATCH, chain=chain, detail=detail))


def _problem(kind: ProblemKind, chain: str, entry: AuditEntry, detail: str) -> AuditProblem:
    return AuditProblem(
        kind=kind, chain=chain, event_id=entry.event_id, seq=entry.seq, detail=detail
    )
