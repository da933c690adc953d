"""The engine: the imperative shell around a workflow's pure ``decide``.

``apply`` turns a decision into one store transaction (the handoff's next
version, its audit events, its outbox rows, timers and consent records).
``dispatch`` then executes outbox rows: it claims them with a lease, checks
consent right before every private send, calls the transport, and settles the
row with the result, feeding results (a posted reply, a failed send) back into
the workflow. Claimed rows run on a bounded thread pool (the SDKs block on I/O),
one task per handoff so one handoff's messages keep their order, and every send
first takes a slot from the per-sender ``Pacer``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from escalate._clock import Clock
from escalate._exceptions import (
    ConcurrentUpdate,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    StaleTimer,
    TransitionNotAllowed,
    TransportError,
    UnknownOutcomeError,
)
from escalate._identity import IdentityKind
from escalate._ids import new_id
from escalate._messages import OutboundMessage
from escalate._models import Channel, Event, Handoff, channel_for
from escalate._pacing import Pacer
from escalate._redact import redact_address
from escalate.consent._ledger import decide_from_records
from escalate.consent._ledger_service import (
    consent_event,
    consent_facts,
    known_zone,
    make_consent_record,
)
from escalate.consent._policy import KEYWORD_REPLY_TEMPLATES, ConsentPolicy
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Decision,
    Purpose,
)
from escalate.identity._contact import Contact
from escalate.retry import RetryPolicy
from escalate.sms import segments
from escalate.social._publisher import SocialPublisher
from escalate.store._protocol import (
    Changes,
    OutboxItem,
    OutboxStatus,
    OutboxUpdate,
    Store,
    Timer,
)
from escalate.transports._base import Transport
from escalate.workflow._commands import (
    CancelTimer,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._definition import ContactAddress, Transition, Workflow
from escalate.workflow._drain import stream
from escalate.workflow._inputs import PublicReplyPosted, SendFailed, TimerFired, WorkflowInput

__all__ = ["DispatchReport", "Engine", "Notifier"]

log = logging.getLogger("escalate")

#: Receives the helpdesk notifications a workflow issues.
Notifier = Callable[[Handoff, Notify], None]


def _log_notifier(handoff: Handoff, notify: Notify) -> None:
    log.warning("notify %s for handoff %s (%s)", notify.topic, handoff.id, handoff.reference)


@dataclass
class DispatchReport:
    """What one ``run_due`` did, by outcome."""

    timers_fired: int = 0
    sent: int = 0
    posted: int = 0
    notified: int = 0
    deferred: int = 0
    retried: int = 0
    held: int = 0
    failed: int = 0
    refused: int = 0
    paced: int = 0

    def __iadd__(self, other: DispatchReport) -> DispatchReport:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


#: Which DispatchReport counter each settling event counts towards.
_REPORT_COUNTERS = {
    "message.sent": "sent",
    "message.deferred": "deferred",
    "message.retry_scheduled": "retried",
    "message.held": "held",
    "message.failed": "failed",
    "message.refused": "refused",
    "message.paced": "paced",
    "public_reply.posted": "posted",
    "public_reply.failed": "failed",
    "public_reply.held": "held",
    "notify.sent": "notified",
}


def _event(
    handoff: Handoff | OutboxItem, kind: str, at: datetime, actor: str = "system", **data: Any
) -> Event:
    if isinstance(handoff, OutboxItem):  # a row tied to no handoff (a keyword answer)
        return Event(
            id=new_id("ev"), tenant=handoff.tenant, kind=kind, at=at, actor=actor, data=data
        )
    return Event(
        id=new_id("ev"),
        tenant=handoff.tenant,
        kind=kind,
        at=at,
        handoff_id=handoff.id,
        contact_id=handoff.contact_id,
        actor=actor,
        data=data,
    )


@dataclass
class Engine:
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

    # -- transitions ------------------------------------------------------------

    def transition(
        self, handoff: Handoff, event: WorkflowInput, *, actor: str = "system"
    ) -> tuple[Transition, Changes]:
        """Decide, and build the one transaction that records the decision."""
        now = self.clock.now()
        addresses = (
            self._addresses(handoff, now)
            if self.workflow.wants_addresses(handoff.state, event)
            else ()
        )
        transition = self.workflow.decide(handoff, event, self.workflow.context(now, addresses))
        new = transition.handoff
        events = [
            _event(
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
        consent = []
        for index, command in enumerate(transition.commands):
            if isinstance(command, PostPublicReply | SendMessage | Notify):
                outbox.append(
                    OutboxItem(
                        id=new_id("ob"),
                        tenant=new.tenant,
                        handoff_id=new.id,
                        # Deterministic per transition: the version check makes a
                        # transition commit once, so its commands are queued once.
                        idempotency_key=f"{new.id}:{new.version}:{index}",
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
                events.append(consent_event(record))
        changes = Changes(
            handoffs=(new,),
            events=tuple(events),
            outbox=tuple(outbox),
            timers=tuple(timers),
            cancel_timers=tuple(cancels),
            consent=tuple(consent),
        )
        return transition, changes

    def _addresses(self, handoff: Handoff, now: datetime) -> list[ContactAddress]:
        """The contact's phones and emails with their consent decisions, for fallback."""
        contact = self.store.get_contact(handoff.tenant, handoff.contact_id or "")
        addresses = []
        for identity in contact.identities if contact else ():
            if identity.kind is IdentityKind.SOCIAL:
                continue
            records = self.store.consent_records(handoff.tenant, identity)
            decision = decide_from_records(records, Purpose.TRANSACTIONAL, now)
            addresses.append(
                ContactAddress(identity, channel_for(identity), decision.allowed, decision.reason)
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
    ) -> Handoff:
        """Decide and commit, with any extra records that belong to the same change.

        ``extra`` carries identity records (merge proposals, merges) to write too.
        """
        transition, changes = self.transition(handoff, event, actor=actor)
        extra = extra or Changes()
        self.store.commit(
            Changes(
                handoffs=changes.handoffs,
                contacts=(*contacts, *extra.contacts),
                consent=changes.consent,
                events=(*events, *extra.events, *changes.events),
                outbox=changes.outbox,
                timers=changes.timers,
                cancel_timers=changes.cancel_timers,
                fire_timers=tuple(fire_timers),
                merges=extra.merges,
                merge_proposals=extra.merge_proposals,
                verifications=extra.verifications,
            )
        )
        return transition.handoff

    def feed(
        self, handoff_id: str, event: WorkflowInput, *, fire_timers: Sequence[str] = ()
    ) -> None:
        """Feed a system input (a result, a timer) to a handoff, tolerating races.

        A late input that the current state no longer accepts is recorded and
        dropped: the workflow moved on, and that is not an error.
        """
        for _ in range(3):
            handoff = self.store.get_handoff(self.tenant, handoff_id)
            if handoff is None:
                return
            try:
                self.apply(handoff, event, fire_timers=fire_timers)
                return
            except TransitionNotAllowed:
                self._commit_ignoring_stale_timer(
                    Changes(
                        events=(
                            _event(
                                handoff,
                                "input.ignored",
                                self.clock.now(),
                                input=event.kind,
                                state=handoff.state.value,
                            ),
                        ),
                        fire_timers=tuple(fire_timers),
                    )
                )
                return
            except StaleTimer:
                # A reply cancelled the timer (or another worker fired it) after
                # we read it as due: firing it now would remind someone who answered.
                return
            except ConcurrentUpdate:
                continue
        log.warning(
            "handoff %s kept changing; input %s left for the next run", handoff_id, event.kind
        )

    def _commit_ignoring_stale_timer(self, changes: Changes) -> None:
        try:
            self.store.commit(changes)
        except StaleTimer:
            return

    # -- timers -----------------------------------------------------------------

    def fire_timers(self, limit: int = 100) -> int:
        """Feed every due timer to its handoff; return how many fired."""
        fired = 0
        for timer in self.store.due_timers(self.clock.now(), limit=limit, tenant=self.tenant):
            self.feed(timer.handoff_id, TimerFired(name=timer.name), fire_timers=(timer.id,))
            fired += 1
        return fired

    # -- outbox -----------------------------------------------------------------

    def dispatch(self, *, handoff_id: str | None = None, limit: int = 100) -> DispatchReport:
        """Claim due outbox rows once and execute them, up to ``concurrency`` handoffs at once."""
        groups = self._claim(limit=limit, handoff_id=handoff_id)
        if self.concurrency <= 1 or len(groups) <= 1:
            report = DispatchReport()
            for group in groups.values():
                report += self._run_group(group)
            return report
        futures = [self._executor().submit(self._run_group, group) for group in groups.values()]
        return _collect(futures)

    def drain(self, *, batch: int = 100) -> DispatchReport:
        """Dispatch until no row is due, keeping every worker of the pool busy.

        Rather than claim a batch and wait for its slowest send, it keeps
        ``2 * concurrency`` handoffs queued or in flight (see ``_drain.stream``).
        """
        report = DispatchReport()
        if self.concurrency <= 1:
            while True:
                groups = self._claim(limit=batch)
                for group in groups.values():
                    report += self._run_group(group)
                if sum(len(group) for group in groups.values()) < batch:
                    return report

        def add(result: DispatchReport) -> None:
            nonlocal report
            report += result

        stream(
            claim=lambda room: self._claim(limit=room),
            run=self._run_group,
            done=add,
            pool=self._executor(),
            # Twice the pool: the queued half keeps workers fed between claims;
            # claims come in chunks, since each is a write transaction.
            window=min(batch, 2 * self.concurrency),
            chunk=min(batch, max(1, self.concurrency // 4)),
        )
        return report

    def _claim(self, *, limit: int, handoff_id: str | None = None) -> dict[str, list[OutboxItem]]:
        """Claim due rows, grouped by handoff in claim order."""
        groups: dict[str, list[OutboxItem]] = {}
        for item in self.store.claim_outbox(
            self.clock.now(),
            worker=self.worker,
            lease=self.lease,
            limit=limit,
            handoff_id=handoff_id,
            # Another tenant's rows belong to its own transports and workflow.
            tenant=self.tenant,
        ):
            # A row with no handoff (a keyword answer) is a group of its own.
            groups.setdefault(item.handoff_id or item.id, []).append(item)
        return groups

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency, thread_name_prefix="escalate-dispatch"
                )
            return self._pool

    def close(self) -> None:
        """Stop the worker pool (after the tasks it is running)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _run_group(self, items: Sequence[OutboxItem]) -> DispatchReport:
        """Execute one handoff's claimed rows in order (its messages keep their order)."""
        report = DispatchReport()
        for item in items:
            command = item.command
            if item.handoff_id is None:
                if isinstance(command, SendMessage):
                    self._send(item, None, command, report)
                continue
            handoff = self.store.get_handoff(item.tenant, item.handoff_id)
            if handoff is None:  # pragma: no cover - rows are written with their handoff
                continue
            if isinstance(command, SendMessage):
                self._send(item, handoff, command, report)
            elif isinstance(command, PostPublicReply):
                self._post(item, handoff, command, report)
            else:
                self.notifier(handoff, command)
                self._settle(
                    item,
                    handoff,
                    OutboxStatus.DONE,
                    "notify.sent",
                    report,
                    topic=command.topic,
                )
        return report

    def _settle(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        status: OutboxStatus,
        kind: str,
        report: DispatchReport,
        *,
        due_at: datetime | None = None,
        result: dict[str, Any] | None = None,
        consent: Sequence[ConsentRecord] = (),
        **data: Any,
    ) -> bool:
        now = self.clock.now()
        update = OutboxUpdate(
            item_id=item.id,
            status=status,
            claimed_by=item.claimed_by or "",
            result=result,
            due_at=due_at,
        )
        event = _event(handoff or item, kind, now, outbox_id=item.id, attempt=item.attempts, **data)
        events = (event, *(consent_event(record) for record in consent))
        try:
            self.store.commit(
                Changes(outbox_updates=(update,), events=events, consent=tuple(consent))
            )
        except ConcurrentUpdate:
            # Our lease was taken over; the new owner settles the row.
            log.warning("outbox row %s was taken over by another worker", item.id)
            return False
        counter = _REPORT_COUNTERS[kind]
        setattr(report, counter, getattr(report, counter) + 1)
        return True

    def _transport_for(self, channel: Channel) -> Transport | None:
        return next((t for t in self.transports if channel in t.channels), None)

    def consent_decision(self, item: OutboxItem, command: SendMessage, now: datetime) -> Decision:
        """The full consent decision for one queued send (quiet hours included)."""
        return decide_from_records(
            consent_facts(self.store, item.tenant, command.to, self.consent),
            command.purpose,
            now,
            address=command.to,
            channel=command.channel,
            policy=self.consent,
            template=command.template,
            requested_at=item.created_at,
            known_zone=known_zone(self.store, item.tenant, command.to),
            confirms=command.confirms,
            opt_in_request=command.opt_in_request,
        )

    def _send(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        command: SendMessage,
        report: DispatchReport,
    ) -> None:
        to = f"{command.to.kind.value}:{redact_address(command.to.kind.value, command.to.value)}"
        if item.stale_claim:
            # A previous worker claimed this send and never settled it: the
            # provider may have it. Hold it rather than risk a second text.
            self._settle(
                item,
                handoff,
                OutboxStatus.HELD,
                "message.held",
                report,
                to=to,
                reason="lease_expired",
            )
            return
        transport = self._transport_for(command.channel)
        if transport is not None and not self._pace(item, handoff, transport, report, to=to):
            return
        now = self.clock.now()
        if command.opt_in_request and self._opt_in_already_requested(item, command):
            decision = Decision(allowed=False, reason="opt_in_already_requested")
        else:
            decision = self.consent_decision(item, command, now)
        if not decision.allowed:
            if decision.not_before is not None:
                self._settle(
                    item,
                    handoff,
                    OutboxStatus.PENDING,
                    "message.deferred",
                    report,
                    due_at=decision.not_before,
                    result=item.result,
                    to=to,
                    reason=decision.reason,
                    not_before=decision.not_before.isoformat(),
                    zone_source=decision.zone_source,
                )
                return
            if self._settle(
                item,
                handoff,
                OutboxStatus.REFUSED,
                "message.refused",
                report,
                to=to,
                reason=decision.reason,
                template=command.template,
                records=[record.id for record in decision.records],
            ) and (handoff is not None and command.template not in KEYWORD_REPLY_TEMPLATES):
                # A keyword answer that may no longer go is not the handoff's failure.
                self.feed(
                    handoff.id,
                    SendFailed(channel=command.channel, reason=f"consent:{decision.reason}"),
                )
            return
        if transport is None:
            if (
                self._settle(
                    item,
                    handoff,
                    OutboxStatus.FAILED,
                    "message.failed",
                    report,
                    to=to,
                    reason="no_transport",
                )
                and handoff is not None
            ):
                self.feed(handoff.id, SendFailed(channel=command.channel, reason="no_transport"))
            return
        message = OutboundMessage(
            id=item.id,
            idempotency_key=item.idempotency_key,
            tenant=item.tenant,
            channel=command.channel,
            to=command.to,
            body=command.body,
            subject=command.subject,
            reference=handoff.reference if handoff else None,
            handoff_id=handoff.id if handoff else None,
            headers=(
                {**command.headers, "Reply-To": command.reply_to}
                if command.reply_to
                else dict(command.headers)
            ),
        )
        # Providers bill per segment; record what this body costs on every SMS.
        sms = segments(command.body) if command.channel is Channel.SMS else None
        size: dict[str, Any] = (
            {"encoding": sms.encoding.value, "segments": sms.segments, "units": sms.units}
            if sms
            else {}
        )
        try:
            result = transport.send(message)
        except RetryableTransportError as exc:
            self._retry_or_fail(item, handoff, exc, report, to=to, channel=command.channel)
            return
        except RecipientOptedOut as exc:
            # The carrier holds a STOP we never saw: record it as ours, with the
            # row's settlement, so nothing else is sent to this address.
            revoke = make_consent_record(
                tenant=item.tenant,
                address=command.to,
                channel=command.channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.REVOKE,
                evidence=ConsentEvidence(source=ConsentSource.PROVIDER_EVENT),
                at=now,
                actor=exc.provider or transport.name,
                handoff_id=item.handoff_id,
                all_purposes=True,
            )
            if (
                self._settle(
                    item,
                    handoff,
                    OutboxStatus.FAILED,
                    "message.failed",
                    report,
                    consent=(revoke,),
                    to=to,
                    reason=type(exc).__name__,
                    code=exc.code,
                    provider=exc.provider,
                )
                and handoff is not None
            ):
                self.feed(
                    handoff.id, SendFailed(channel=command.channel, reason=type(exc).__name__)
                )
            return
        except PermanentTransportError as exc:
            if (
                self._settle(
                    item,
                    handoff,
                    OutboxStatus.FAILED,
                    "message.failed",
                    report,
                    to=to,
                    reason=type(exc).__name__,
                    code=exc.code,
                    provider=exc.provider,
                )
                and handoff is not None
            ):
                self.feed(
                    handoff.id, SendFailed(channel=command.channel, reason=type(exc).__name__)
                )
            return
        except UnknownOutcomeError as exc:
            self._settle(
                item,
                handoff,
                OutboxStatus.HELD,
                "message.held",
                report,
                to=to,
                reason="unknown_outcome",
                code=exc.code,
            )
            return
        except Exception as exc:  # noqa: BLE001 - a third-party transport's own error: outcome unknown
            log.warning(
                "transport %s raised %s; holding outbox row %s",
                transport.name,
                type(exc).__name__,
                item.id,
            )
            self._settle(
                item,
                handoff,
                OutboxStatus.HELD,
                "message.held",
                report,
                to=to,
                reason=f"unexpected:{type(exc).__name__}",
            )
            return
        self._settle(
            item,
            handoff,
            OutboxStatus.DONE,
            "message.sent",
            report,
            result={
                "provider": result.provider,
                "provider_message_id": result.provider_message_id,
                **size,
            },
            to=to,
            channel=command.channel.value,
            provider=result.provider,
            provider_message_id=result.provider_message_id,
            **size,
        )

    def _pace(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        transport: Transport,
        report: DispatchReport,
        *,
        to: str,
    ) -> bool:
        """Take the sender's next pacing slot, or put the row back if it is too far off."""
        if self.pacer is None:
            return True
        lease_until = item.lease_until or self.clock.now() + self.lease
        # Never wait past half the lease: a row whose lease expires mid-wait
        # would be taken over and held, not sent.
        budget = max((lease_until - self.clock.now()).total_seconds() / 2, 0.0)
        sender = getattr(transport, "sender", None)
        if self.pacer.acquire(transport.name, sender, max_wait=budget):
            return True
        self._settle(
            item,
            handoff,
            OutboxStatus.PENDING,
            "message.paced",
            report,
            due_at=self.clock.now() + timedelta(seconds=budget),
            result=item.result,
            to=to,
            provider=transport.name,
        )
        return False

    def _opt_in_already_requested(self, item: OutboxItem, command: SendMessage) -> bool:
        """Whether another double opt-in request to this address in this handoff was attempted.

        The request is the one text allowed before a grant, so it must never go
        twice: any other request row that left pending (sent, held, claimed or
        failed) counts, whatever the ledger says.
        """
        return any(
            other.id != item.id
            and isinstance(other.command, SendMessage)
            and other.command.opt_in_request
            and other.command.to == command.to
            and other.status is not OutboxStatus.PENDING
            for other in self.store.outbox(item.tenant, handoff_id=item.handoff_id)
        )

    def _retry_or_fail(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        exc: TransportError,
        report: DispatchReport,
        *,
        to: str,
        channel: Channel | None,
    ) -> None:
        now = self.clock.now()
        # The deadline counts from the first attempt, not from when the row was
        # written (a quiet-hours deferral is not time spent retrying).
        first = (item.result or {}).get("first_attempt_at")
        first_at = datetime.fromisoformat(first) if isinstance(first, str) else now
        delay = self.retry.next_delay(
            attempt=item.attempts, elapsed=(now - first_at).total_seconds(), error=exc
        )
        if delay is not None:
            self._settle(
                item,
                handoff,
                OutboxStatus.PENDING,
                "message.retry_scheduled",
                report,
                due_at=now + timedelta(seconds=delay),
                result={**(item.result or {}), "first_attempt_at": first_at.isoformat()},
                to=to,
                code=exc.code,
                delay_seconds=round(delay, 3),
            )
            return
        if (
            self._settle(
                item,
                handoff,
                OutboxStatus.FAILED,
                "message.failed",
                report,
                to=to,
                reason="retries_exhausted",
                code=exc.code,
            )
            and channel is not None
            and handoff is not None
        ):
            self.feed(handoff.id, SendFailed(channel=channel, reason="retries_exhausted"))

    def _post(
        self, item: OutboxItem, handoff: Handoff, command: PostPublicReply, report: DispatchReport
    ) -> None:
        if item.stale_claim:
            # As for a send: the crashed worker may have posted it; never post twice.
            self._settle(
                item,
                handoff,
                OutboxStatus.HELD,
                "public_reply.held",
                report,
                reason="lease_expired",
            )
            return
        if self.publisher is None:
            self._settle(
                item,
                handoff,
                OutboxStatus.FAILED,
                "public_reply.failed",
                report,
                reason="no_publisher",
            )
            return
        try:
            if command.private:
                private_reply = getattr(self.publisher, "private_reply", None)
                if private_reply is None:
                    self._settle(
                        item,
                        handoff,
                        OutboxStatus.FAILED,
                        "public_reply.failed",
                        report,
                        reason="no_private_reply",
                    )
                    return
                published = private_reply(handoff.thread, command.text)
            else:
                published = self.publisher.reply(handoff.thread, command.text)
        except RetryableTransportError as exc:
            self._retry_or_fail(item, handoff, exc, report, to="public", channel=None)
            return
        except TransportError as exc:
            self._settle(
                item,
                handoff,
                OutboxStatus.FAILED,
                "public_reply.failed",
                report,
                reason=type(exc).__name__,
            )
            return
        if self._settle(
            item,
            handoff,
            OutboxStatus.DONE,
            "public_reply.posted",
            report,
            result={"post_id": published.post_id},
            post_id=published.post_id,
        ):
            self.feed(handoff.id, PublicReplyPosted(post_id=published.post_id))


def _collect(futures: Sequence[Future[DispatchReport]]) -> DispatchReport:
    """Sum the groups' reports; re-raise the first error once every group finished."""
    report = DispatchReport()
    error: BaseException | None = None
    for future in futures:
        failure = future.exception()
        if failure is not None:
            error = error or failure
            continue
        report += future.result()
    if error is not None:
        raise error
    return report
