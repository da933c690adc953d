"""The engine: the imperative shell around a workflow's pure ``decide``.

``apply`` turns a decision into one store transaction (the handoff's next
version, its audit events, its outbox rows, timers and consent records).
``dispatch`` then executes outbox rows: it claims them with a lease, checks
consent right before every private send, calls the transport, and settles the
row with the result, feeding results (a posted reply, a failed send) back into
the workflow. Claimed rows run on a bounded thread pool (the SDKs block on I/O),
one task per handoff so one handoff's messages keep their order, and every send
first takes a slot from the per-sender ``Pacer``.

The engine is one dataclass over five parts: transitions (``apply``) and running
what a verb's own change claimed (``run_claimed``) here; feeding system inputs
and settling rows with their results in ``_feeding.py``; claiming and running
rows in ``_dispatching.py``; the send path, from consent check to settlement,
in ``_sending.py``; and settling a send by the delivery report that came in
while it was in flight, in ``_reported.py``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from escalate._clock import Clock
from escalate._identity import IdentityKind
from escalate._ids import new_id
from escalate._models import Event, Handoff, channel_for
from escalate._pacing import Pacer
from escalate.consent._ledger import confirmed_by_text, decide_from_records
from escalate.consent._making import consent_event, make_consent_record
from escalate.consent._policy import ConsentPolicy
from escalate.consent._records import Purpose
from escalate.identity._contact import Contact
from escalate.identity._merge import survivor_of
from escalate.retry import RetryPolicy
from escalate.social._publisher import SocialPublisher
from escalate.store._changes import NO_CHANGES
from escalate.store._protocol import (
    Changes,
    Claim,
    OutboxItem,
    Store,
    Timer,
)
from escalate.transports._base import Transport
from escalate.workflow._commands import (
    CancelTimer,
    MoveTimer,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._definition import ContactAddress, Transition, Workflow
from escalate.workflow._dispatching import Dispatching
from escalate.workflow._events import handoff_event
from escalate.workflow._feeding import Feeding
from escalate.workflow._inputs import WorkflowInput
from escalate.workflow._messages import private_messages
from escalate.workflow._order import ordered
from escalate.workflow._report import DispatchReport
from escalate.workflow._sending import SendPath
from escalate.workflow._settler import Settler
from escalate.workflow._transition_keys import transition_key

__all__ = ["DispatchReport", "Engine", "Notifier"]

log = logging.getLogger("escalate")

#: Receives the helpdesk notifications a workflow issues.
Notifier = Callable[[Handoff, Notify], None]


def _log_notifier(handoff: Handoff, notify: Notify) -> None:
    log.warning("notify %s for handoff %s (%s)", notify.topic, handoff.id, handoff.reference)


@dataclass
class Followed:
    """What the commits made on this thread did to one handoff while its rows ran.

    Attributes:
        handoff: the handoff as the last of them committed it (the verb's own
            commit when none did).
        queued: whether any of them queued outbox rows.
    """

    handoff: Handoff
    queued: bool = False


@dataclass
class Engine(Dispatching, SendPath, Feeding):
    """Runs one workflow over one store for one tenant."""

    store: Store
    workflow: Workflow
    clock: Clock
    tenant: str
    transports: Sequence[Transport] = ()
    publisher: SocialPublisher | None = None
    notifier: Notifier = _log_notifier
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    consent: ConsentPolicy = field(default_factory=ConsentPolicy)
    lease: timedelta = timedelta(minutes=2)
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    #: Handoffs dispatched at once; 1 runs every send on the calling thread.
    concurrency: int = 1
    pacer: Pacer | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    #: Commits accepted sends' settlements behind the pool (see ``_settler``).
    _settler: Settler | None = field(default=None, init=False, repr=False)
    #: The ``Followed`` of each ``run_claimed`` on this thread (``apply`` updates them);
    #: ``waiting``: the last ``apply`` claimed, and queued a row waiting for another.
    _following: threading.local = field(default_factory=threading.local, init=False, repr=False)
    #: Dispatch calls running (``dispatch``, ``drain``, ``run_claimed``), which
    #: ``close`` waits for, and whether it does: they claim nothing more meanwhile.
    _calls: threading.Condition = field(default_factory=threading.Condition, init=False, repr=False)
    _running: int = field(default=0, init=False, repr=False)
    _closing: bool = field(default=False, init=False, repr=False)

    # -- transitions ------------------------------------------------------------

    def transition(
        self,
        handoff: Handoff,
        event: WorkflowInput,
        *,
        actor: str = "system",
        contacts: Sequence[Contact] = (),
        events: Sequence[Event] = (),
        fire_timers: Sequence[str] = (),
        extra: Changes = NO_CHANGES,
        claim: bool = False,
    ) -> tuple[Transition, Changes]:
        """Decide, and build the one transaction that records the decision.

        ``contacts``, ``events``, ``fire_timers`` and ``extra`` are records of the
        same change, written with it (see ``apply``); with ``claim``, a change
        that queues outbox rows also claims the handoff's due rows.
        """
        now = self.clock.now()
        workflow = self.workflow
        addresses = (
            self._addresses(handoff, now) if workflow.wants_addresses(handoff.state, event) else ()
        )
        messages = (
            private_messages(self.store, handoff)
            if workflow.wants_messages(handoff.state, event)
            else ()
        )
        transition = workflow.decide(handoff, event, workflow.context(now, addresses, messages))
        new = transition.handoff
        own_events = [
            handoff_event(
                new,
                "handoff.transition",
                now,
                actor,
                **{
                    "from": transition.previous.value,
                    "to": new.state.value,
                    "input": event.kind,
                    "reason": transition.reason,
                },
            )
        ]
        outbox: list[OutboxItem] = []
        timers: list[Timer] = []
        cancels: list[tuple[str, str]] = []
        moves: list[tuple[str, str, datetime]] = []
        consent = []
        for index, command in enumerate(transition.commands):
            if isinstance(command, PostPublicReply | SendMessage | Notify):
                outbox.append(
                    OutboxItem(
                        id=new_id("ob"),
                        tenant=new.tenant,
                        handoff_id=new.id,
                        idempotency_key=transition_key(new.id, new.version, index),
                        command=command,
                        due_at=now,
                        created_at=now,
                    )
                )
            elif isinstance(command, StartTimer):
                timers.append(
                    Timer(
                        id=new_id("tm"),
                        tenant=new.tenant,
                        handoff_id=new.id,
                        name=command.name,
                        due_at=command.due_at,
                    )
                )
            elif isinstance(command, CancelTimer):
                cancels.append((new.id, command.name))
            elif isinstance(command, MoveTimer):
                moves.append((new.id, command.name, command.due_at))
            elif isinstance(command, RecordConsent):
                record = make_consent_record(
                    tenant=new.tenant,
                    address=command.address,
                    channel=command.channel,
                    purpose=command.purpose,
                    action=command.action,
                    evidence=command.evidence,
                    at=now,
                    actor=actor,
                    handoff_id=new.id,
                    all_purposes=command.all_purposes,
                    awaiting_confirmation=command.awaiting_confirmation,
                )
                consent.append(record)
                own_events.append(consent_event(record))
        changes = Changes(
            handoffs=(new,),
            contacts=(*contacts, *extra.contacts),
            consent=(*extra.consent, *consent),
            events=(*events, *extra.events, *own_events),
            outbox=ordered(self.store, outbox),
            outbox_updates=extra.outbox_updates,
            timers=tuple(timers),
            cancel_timers=tuple(cancels),
            move_timers=tuple(moves),
            fire_timers=tuple(fire_timers),
            merges=extra.merges,
            merge_proposals=extra.merge_proposals,
            verifications=extra.verifications,
            # Only a change that queued rows claims: older rows left due are
            # run_due's (a verb runs what its own change queued, see Escalator).
            claim=Claim(
                now=self.clock.now(),
                worker=self.worker,
                lease=self.lease,
                tenant=self.tenant,
                handoff_id=new.id,
            )
            if claim and outbox
            else None,
        )
        return transition, changes

    def _addresses(self, handoff: Handoff, now: datetime) -> list[ContactAddress]:
        """The contact's phones and emails with their consent decisions, for fallback.

        A contact merged since the handoff opened is followed to the one it was
        merged into, which holds its addresses now.
        """
        contact = self.store.get_contact(handoff.tenant, handoff.contact_id or "")
        if contact is not None:
            contact = survivor_of(self.store, contact)
        addresses = []
        for identity in contact.identities if contact else ():
            if identity.kind is IdentityKind.SOCIAL:
                continue
            records = self.store.consent_records(handoff.tenant, identity)
            channel = channel_for(identity)
            decision = decide_from_records(records, Purpose.TRANSACTIONAL, now, channel=channel)
            confirmed = confirmed_by_text(records, Purpose.TRANSACTIONAL, now)
            addresses.append(
                ContactAddress(identity, channel, decision.allowed, decision.reason, confirmed)
            )
        return addresses

    def apply(
        self,
        handoff: Handoff,
        event: WorkflowInput,
        *,
        actor: str = "system",
        contacts: Sequence[Contact] = (),
        events: Sequence[Event] = (),
        fire_timers: Sequence[str] = (),
        extra: Changes | None = None,
        claim: bool = False,
    ) -> tuple[Handoff, list[OutboxItem]]:
        """Decide and commit, with any extra records that belong to the same change.

        ``extra`` carries records that belong to the same change: identity records
        (merge proposals, merges), or the settlement of the outbox row whose
        result this input is (see ``_settle``).

        With ``claim``, for a caller that runs the change's messages at once
        (``run_claimed``), the same transaction claims the handoff's rows due
        now, instead of a second write transaction after it. Only a change that
        queues outbox rows claims (then with any older due rows of the handoff,
        in claim order).

        Returns:
            The handoff as committed, and the rows claimed (none without ``claim``).
        """
        transition, changes = self.transition(
            handoff,
            event,
            actor=actor,
            contacts=contacts,
            events=events,
            fire_timers=fire_timers,
            extra=extra or NO_CHANGES,
            claim=claim,
        )
        new = transition.handoff
        claimed = self.store.commit(changes)
        self._following.waiting = claim and any(row.after for row in changes.outbox)
        for followed in getattr(self._following, "running", ()):
            if followed.handoff.id == new.id:
                followed.handoff = new
                followed.queued = followed.queued or bool(changes.outbox)
        return new, claimed

    def run_claimed(self, handoff: Handoff, claimed: Sequence[OutboxItem]) -> Followed:
        """Run rows ``apply(..., claim=True)`` claimed for ``handoff``, in order, on this thread.

        Returns the handoff as the rows' results left it (a posted reply moves it
        on, in the same commit as the row's settlement), and whether those
        results queued more rows (or the change itself queued one that waits
        for another, ``in_order``): the caller reads neither back.
        """
        followed = Followed(handoff, queued=getattr(self._following, "waiting", False))
        if not claimed:
            return followed
        # A result's transition is applied on this thread (``_settle`` feeds it
        # at once; only plain acceptances are settled behind, by the settler).
        # A notifier or publisher may call a verb of its own on this thread, on
        # this handoff or another: every verb running here keeps its record.
        running = self._running_verbs()
        running.append(followed)
        settler = self._settler
        fed = settler.fed_count if settler is not None else 0
        try:
            with self._dispatch_call():
                self._run_group([(item, handoff) for item in claimed])
        finally:
            running.remove(followed)
            self._flush_settled()
        if settler is not None and settler.fed_count != fed:
            # A report that came in while a send was in flight failed it behind
            # the pool (this handoff's, or another's: rare, so the caller just
            # looks), and the input it fed may have queued a fallback.
            followed.queued = True
        return followed

    def _running_verbs(self) -> list[Followed]:
        running: list[Followed] | None = getattr(self._following, "running", None)
        if running is None:
            running = self._following.running = []
        return running
