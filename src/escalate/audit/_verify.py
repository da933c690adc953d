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

from pydantic import BaseModel, ConfigDict

from escalate._enum import StrEnum
from escalate._models import Event
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, chain_of, event_hash

__all__ = ["AuditProblem", "AuditReport", "ProblemKind", "verify_chains"]


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
    by_chain: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        chain = chain_of(event)
        if event.tenant == tenant and (wanted is None or chain in wanted):
            by_chain[chain].append(event)
    head_of: dict[ChainKey, ChainHead] = {
        head.key: head
        for head in heads
        if head.tenant == tenant and (wanted is None or head.chain in wanted)
    }
    problems: list[AuditProblem] = []
    verified = legacy = 0
    names = sorted(set(by_chain) | {chain for _, chain in head_of})
    for chain in names:
        ordered = sorted(by_chain.get(chain, ()), key=lambda event: event.seq or 0)
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
    ordered: list[Event],
    problems: list[AuditProblem],
    before_hashing: BeforeHashing | None,
) -> tuple[int, int, str | None]:
    """Walk one chain; return (hashed events checked, unhashed leading events, last hash)."""
    position = {event.hash: index for index, event in enumerate(ordered) if event.hash}
    previous: str | None = None
    checked = legacy = 0
    for index, event in enumerate(ordered):
        if event.hash is None:
            # Leading unhashed events pass as pre-hashing only where the store
            # says such events can be: else anyone could prepend unhashed rows
            # (or strip a chain's hashes and head) and have them pass unchecked.
            if checked or not _may_predate_hashing(event, before_hashing):
                problems.append(_problem(ProblemKind.UNHASHED, chain, event, "event has no hash"))
            else:
                legacy += 1  # written before hashing began: verification starts after it
            continue
        if event.prev_hash != previous:
            problems.append(_link_problem(chain, event, index, position))
        if event_hash(event.prev_hash, event) != event.hash:
            problems.append(
                _problem(ProblemKind.EDITED, chain, event, "content does not match its hash")
            )
        previous = event.hash
        checked += 1
    return checked, legacy, previous


def _may_predate_hashing(event: Event, before_hashing: BeforeHashing | None) -> bool:
    if before_hashing is None:  # unknown: any chain may have begun before hashing
        return True
    return (
        bool(before_hashing.events)
        and event.seq is not None
        and event.seq <= before_hashing.last_seq
    )


def _legacy_count_problem(found: int, recorded: int) -> AuditProblem:
    chain = "(before hashing)"
    if found < recorded:
        detail = f"{recorded - found} of {recorded} events from before hashing are missing: deleted"
        return AuditProblem(kind=ProblemKind.MISSING, chain=chain, detail=detail)
    detail = f"{found} events from before hashing, the store recorded {recorded}: inserted"
    return AuditProblem(kind=ProblemKind.UNHASHED, chain=chain, detail=detail)


def _link_problem(chain: str, event: Event, index: int, position: dict[str, int]) -> AuditProblem:
    if event.prev_hash is None:
        detail = "event claims to start the chain but follows other events: inserted or reordered"
        return _problem(ProblemKind.OUT_OF_ORDER, chain, event, detail)
    linked_to = position.get(event.prev_hash)
    if linked_to is None:
        detail = "the event before it is missing: deleted (or rewritten)"
        return _problem(ProblemKind.MISSING, chain, event, detail)
    where = "after" if linked_to > index else "before"
    detail = f"links to an event {where} it, not the one just before: inserted or reordered"
    return _problem(ProblemKind.OUT_OF_ORDER, chain, event, detail)


def _check_head(
    chain: str,
    head: ChainHead | None,
    ordered: list[Event],
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
    last = next((event for event in reversed(ordered) if event.hash), None)
    if last_hash != head.hash:
        present = any(event.hash == head.hash for event in ordered)
        detail = (
            "events were appended after the recorded head"
            if present
            else "the chain's newest events are missing: deleted"
        )
        problems.append(
            AuditProblem(
                kind=ProblemKind.HEAD_MISMATCH,
                chain=chain,
                event_id=last.id if last else None,
                seq=last.seq if last else None,
                detail=detail,
            )
        )
    elif checked is not None and checked != head.length:
        detail = f"the head records {head.length} events, the log holds {checked}"
        problems.append(AuditProblem(kind=ProblemKind.HEAD_MISMATCH, chain=chain, detail=detail))


def _problem(kind: ProblemKind, chain: str, event: Event, detail: str) -> AuditProblem:
    return AuditProblem(kind=kind, chain=chain, event_id=event.id, seq=event.seq, detail=detail)
