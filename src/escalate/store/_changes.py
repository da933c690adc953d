"""``Changes``: one store transaction's worth of records, and the status enums of the outbox.

Kept apart from the ``Store`` protocol and free of runtime imports of the
records it carries, so that any layer can build a change without an import cycle.
The two rules every store applies to a change the same way (``check_version``,
``claim_token``) live here too, so no store imports another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from escalate._enum import StrEnum
from escalate._exceptions import ConcurrentUpdate, RateLimited

if TYPE_CHECKING:
    from escalate._models import Event, Handoff
    from escalate.consent._records import ConsentRecord
    from escalate.identity._contact import Contact
    from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
    from escalate.store._protocol import OutboxItem, Timer

__all__ = [
    "Changes",
    "Claim",
    "IssueLimit",
    "OutboxReport",
    "OutboxStatus",
    "OutboxUpdate",
    "TimerStatus",
    "check_version",
    "claim_token",
]


@dataclass(frozen=True, slots=True)
class IssueLimit:
    """A cap on new verification challenges per address, checked inside the commit.

    A version-1 challenge whose address already holds ``count`` challenges created
    at or after ``since`` is refused with ``RateLimited`` (``retry_after``
    seconds). The count and the write are one transaction, so requests made at
    once (one code pumping attack, many threads or processes) cannot all pass
    a count each read before any of them wrote.
    """

    count: int
    since: datetime
    retry_after: float


class OutboxStatus(StrEnum):
    PENDING = "pending"  # due at due_at
    CLAIMED = "claimed"  # a worker holds it until lease_until
    DONE = "done"  # the provider accepted it
    HELD = "held"  # unknown outcome: waits for reconciliation, never resent by itself
    FAILED = "failed"  # permanent failure
    REFUSED = "refused"  # consent refused it
    CANCELLED = "cancelled"  # its handoff closed, or its address was unlinked, before it left


@dataclass(frozen=True)
class OutboxUpdate:
    """Settles a claimed outbox row: new status, result, and when to try again.

    With ``from_status`` set, it instead moves a row that is in that status
    (reconciliation of a held or sent row, by a status callback or an operator);
    ``claimed_by`` is then ignored. Either way a row that moved on in between
    makes the commit raise ``ConcurrentUpdate``.

    With ``check_reported`` (a send settling as sent or held, whose outcome a
    delivery report may decide), the row must also carry exactly ``reported``
    as its in-flight report (``OutboxItem.reported``; ``None``: none), or the
    commit raises ``ConcurrentUpdate``. Every update clears the row's report.
    """

    item_id: str
    status: OutboxStatus
    claimed_by: str = ""
    result: dict[str, Any] | None = None
    due_at: datetime | None = None
    from_status: OutboxStatus | None = None
    check_reported: bool = False
    reported: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class OutboxReport:
    """Keeps a delivery report on a claimed row whose send is still in flight.

    The provider's callback can beat its answer to our send: the report waits
    on the row (``OutboxItem.reported``) for the send's settlement to apply it.
    The row must still be claimed by ``claimed_by`` and carry ``previous`` as
    its report (``None``: none), or the commit raises ``ConcurrentUpdate``.
    """

    item_id: str
    claimed_by: str
    report: Mapping[str, Any]
    previous: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Claim:
    """Claim one handoff's due outbox rows in the same transaction as a change.

    A verb that runs its change's messages at once would otherwise commit the
    change, then claim its rows in a second write transaction. Claimed with the
    change, they are exactly the rows ``claim_outbox(now, worker=..., lease=...,
    handoff_id=..., tenant=...)`` would have claimed right after the commit, and
    ``Store.commit`` returns them.
    """

    now: datetime
    worker: str
    lease: timedelta
    tenant: str
    handoff_id: str
    limit: int = 100


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Changes:
    """Everything one transaction writes.

    Attributes:
        handoffs: new versions of handoffs (version 1 inserts).
        contacts: new versions of contacts (version 1 inserts).
        consent: consent records to append.
        events: audit events to append.
        outbox: outbox rows to insert.
        outbox_updates: claimed outbox rows to settle.
        outbox_reports: delivery reports to keep on claimed rows (see ``OutboxReport``).
        timers: timers to start; a pending timer with the same name is replaced.
        cancel_timers: ``(handoff_id, name)`` of pending timers to cancel.
        move_timers: ``(handoff_id, name, due_at)``: pending timers to move (after
            cancelling, before starting; a timer not pending is left alone).
        fire_timers: ids of timers this transaction handled.
        hold_timers: ids of pending timers to hold: no longer due until released
            (one that no longer reads, or whose handoff or contact does not);
            still the pending timer of its name, so cancelling or restarting it
            ends it. One not pending, or already held, raises ``StaleTimer``.
        release_timers: ``(handoff_id, timer_id)`` of held timers to make due
            again; one not held (or not that handoff's) raises ``StaleTimer``.
        merges: merge records to insert or update (an unmerge marks one undone).
        merge_proposals: merge proposals to insert or update.
        verifications: verification challenges; versioned like contacts.
        issue_limit: refuses a new challenge past its address's cap (``IssueLimit``).
        claim: due outbox rows to claim once the rest is written (see ``Claim``).
    """

    handoffs: Sequence[Handoff] = ()
    contacts: Sequence[Contact] = ()
    consent: Sequence[ConsentRecord] = ()
    events: Sequence[Event] = ()
    outbox: Sequence[OutboxItem] = ()
    outbox_updates: Sequence[OutboxUpdate] = ()
    outbox_reports: Sequence[OutboxReport] = ()
    timers: Sequence[Timer] = ()
    cancel_timers: Sequence[tuple[str, str]] = ()
    move_timers: Sequence[tuple[str, str, datetime]] = ()
    fire_timers: Sequence[str] = ()
    hold_timers: Sequence[str] = ()
    release_timers: Sequence[tuple[str, str]] = ()
    merges: Sequence[MergeRecord] = ()
    merge_proposals: Sequence[MergeProposal] = ()
    verifications: Sequence[VerificationRecord] = ()
    issue_limit: IssueLimit | None = None
    claim: Claim | None = None


#: The empty change, shared (it is frozen): for "nothing extra" defaults and checks.
NO_CHANGES = Changes()


def check_version(kind: str, new_version: int, stored_version: int | None) -> None:
    """Raise ``ConcurrentUpdate`` unless ``new_version`` is the stored one plus one."""
    expected = 1 if stored_version is None else stored_version + 1
    if new_version != expected:
        raise ConcurrentUpdate(
            f"{kind} version {new_version} does not follow stored version {stored_version}"
        )


def claim_token(worker: str) -> str:
    """A per-claim owner tag, so a worker whose lease was taken over cannot settle the row."""
    return f"{worker}:{os.urandom(6).hex()}"


def refuse_past_limit(limit: IssueLimit, issued: int) -> None:
    """Raise ``RateLimited`` when ``issued`` challenges already fill ``limit``."""
    if issued >= limit.count:
        raise RateLimited(
            f"this address already got {issued} codes since {limit.since.isoformat()}",
            retry_after=limit.retry_after,
        )
