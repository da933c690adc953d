"""``Escalator``: the facade a helpdesk integration holds.

It wires a store, a workflow, transports, a social publisher and a clock for one
tenant, and offers the handful of verbs an integration needs: ``open`` a public
thread, ``contact_provided`` (``_intake.py``), ``inbound`` messages
(``_inbound.py``), ``resolve``, and ``run_due`` from a scheduler. Every verb
validates its input before it writes anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime

from escalate._clock import Clock, SystemClock
from escalate._conflicts import outlast
from escalate._exceptions import ConcurrentUpdate, InvalidInput, StoreError
from escalate._handoff_queries import HandoffQueries, reopening
from escalate._ids import new_id, new_reference
from escalate._inbound import InboundRouting
from escalate._intake import ContactIntake
from escalate._models import DEFAULT_TENANT, Event, Handoff, Thread
from escalate._outbox import Outbox
from escalate._pacing import Pacer
from escalate._tenant import check_tenant
from escalate._timers import Timers
from escalate._worker import WorkerSettings, run_worker
from escalate.audit import AuditReport, verify_store
from escalate.consent._ledger_service import ConsentLedger
from escalate.consent._policy import ConsentPolicy
from escalate.identity._book import ContactBook
from escalate.identity._extract import extract_identities, find_identities
from escalate.reporting import SlaReport, store_report
from escalate.retry import RetryPolicy
from escalate.social._publisher import RecordingPublisher, SocialPublisher
from escalate.store import OutboxItem, Store, open_store
from escalate.transports._base import Transport
from escalate.webhooks._apply import Applied, MemorySeen, Seen, WebhookRecord, apply_webhook
from escalate.workflow._definition import Workflow
from escalate.workflow._engine import DispatchReport, Engine, Notifier
from escalate.workflow._events import handoff_event
from escalate.workflow._inputs import AgentReplied, Opened, ResolveRequested, WorkflowInput

__all__ = ["Escalator", "HandoffQueries"]

log = logging.getLogger("escalate")


class Escalator(ContactIntake, InboundRouting):
    """Moves public complaints into private, consented conversations.

    Args:
        store: a store URL (``"sqlite:///escalate.db"``, ``"memory://"``) or a ``Store``.
        transports: transports to send with; those serving one channel are tried in
            this order (provider fallback: a provider's own permanent failure, or
            the retry policy giving up on it, moves the message to the next).
        workflow: the workflow definition (default: ``Workflow.default()``).
        publisher: posts public replies (default: a ``RecordingPublisher``).
        clock: the time source (default: the system clock, in UTC).
        tenant: the brand or helpdesk account every record belongs to.
        notifier: called with helpdesk notifications the workflow issues.
        retry: the retry policy for retryable send failures.
        dispatch_immediately: execute a change's outbox rows right after it
            commits, instead of waiting for the next ``run_due``.
        region: ISO region for reading national phone numbers in public posts
            (``"US"``); without it only ``+``-prefixed numbers are recognized.
        identity_secret: key for signed verification links (``esc.contacts``).
        consent_policy: this tenant's consent policy (quiet hours per purpose,
            keywords, help text, free-text revocation); see ``docs/consent.md``.
        concurrency: how many handoffs ``run_due`` dispatches at once, on a
            thread pool (1: every send on the calling thread).
        pacer: per-sender rate limits, so providers never answer 429.
    """

    def __init__(
        self,
        store: str | Store = "sqlite:///escalate.db",
        *,
        transports: Iterable[Transport] = (),
        workflow: Workflow | None = None,
        publisher: SocialPublisher | None = None,
        clock: Clock | None = None,
        tenant: str = DEFAULT_TENANT,
        notifier: Notifier | None = None,
        retry: RetryPolicy | None = None,
        dispatch_immediately: bool = True,
        region: str | None = None,
        identity_secret: bytes | None = None,
        consent_policy: ConsentPolicy | None = None,
        concurrency: int = 1,
        pacer: Pacer | None = None,
    ) -> None:
        check_tenant(tenant)
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput("concurrency must be a positive integer")
        # Checked before the store is opened, so a refused call creates no database file.
        if not isinstance(store, str | Store):
            raise InvalidInput("store must be a store URL or a Store")
        if workflow is not None and not isinstance(workflow, Workflow):
            raise InvalidInput("workflow must be a Workflow (e.g. Workflow.default())")
        transports = tuple(transports)
        for transport in transports:
            # Found at the first send otherwise: after the transition committed,
            # with the row claimed and, once its lease ran out, held.
            if not isinstance(transport, Transport):
                raise InvalidInput(
                    f"transports must be Transports (name, channels, send), not {transport!r}"
                )
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.tenant = tenant
        self.workflow = workflow or Workflow.default()
        self.publisher: SocialPublisher = publisher or RecordingPublisher()
        self.engine = Engine(
            store=self.store,
            workflow=self.workflow,
            clock=self.clock,
            tenant=tenant,
            transports=transports,
            publisher=self.publisher,
            retry=retry or RetryPolicy(),
            consent=consent_policy or ConsentPolicy(),
            concurrency=concurrency,
            pacer=pacer,
        )
        if notifier is not None:
            self.engine.notifier = notifier
        self.dispatch_immediately = dispatch_immediately
        find_identities("", region)  # refuses an unknown region now, not at the first post
        self.region = region
        self.contacts = ContactBook(
            self.store, tenant=tenant, clock=self.clock, secret=identity_secret
        )
        self.consent = ConsentLedger(
            self.store, tenant=tenant, clock=self.clock, policy=self.engine.consent
        )
        self.handoffs = HandoffQueries(self.store, tenant)
        self.outbox = Outbox(self.engine, dispatch_immediately=dispatch_immediately)
        self.timers = Timers(self.engine)  # a held timer's release (docs/delivery.md)
        #: Content keys of the webhook records this process applied (``handle_webhook``).
        self.webhook_seen: Seen = MemorySeen()

    # -- verbs ----------------------------------------------------------------

    def open(self, thread: Thread) -> Handoff:
        """Escalate a public thread; opening the same thread again returns the same handoff."""
        if not isinstance(thread, Thread):
            raise InvalidInput("open() takes a Thread")
        for _ in range(5):
            # All of the thread's handoffs, not only an open one: what the earlier
            # ones did can limit what this one may do (see Opened.earlier_handoffs).
            earlier = self.store.thread_handoffs(self.tenant, thread.platform, thread.thread_id)
            existing = next((handoff for handoff in earlier if handoff.is_open), None)
            if existing is not None:
                return existing
            now = self.clock.now()
            contact, author_event = self.contacts.link_for_author(thread.author, now)
            draft = Handoff(
                id=new_id("ho"),
                tenant=self.tenant,
                reference=new_reference(),
                thread=thread,
                state=self.workflow.initial,
                version=0,
                contact_id=contact.id,
                opened_at=now,
                updated_at=now,
            )
            opened = handoff_event(
                draft,
                "handoff.opened",
                now,
                reference=draft.reference,
                platform=thread.platform,
                thread_id=thread.thread_id,
                **reopening(earlier),
            )
            extra: list[Event] = [opened]
            if author_event is not None:
                extra.append(author_event.model_copy(update={"handoff_id": draft.id}))
            shared = extract_identities(thread.text, self.region)
            if shared:
                # The customer posted an address publicly: the workflow can offer
                # to move on and warn them. Recorded, never linked on a guess.
                extra.append(
                    handoff_event(
                        draft,
                        "identity.shared_publicly",
                        now,
                        identities=[str(identity) for identity in shared],
                    )
                )
            try:
                handoff, claimed = self.engine.apply(
                    draft,
                    Opened(earlier_handoffs=len(earlier)),
                    contacts=(contact,) if author_event is not None else (),
                    events=extra,
                    claim=self.dispatch_immediately,
                )
            except ConcurrentUpdate:
                continue  # another worker opened it, or the author/reference raced: look again
            return self._dispatch(handoff, claimed)
        raise ConcurrentUpdate("could not open the handoff: the thread kept changing")

    def handle_webhook(
        self, records: WebhookRecord | Iterable[WebhookRecord], *, seen: Seen | None = None
    ) -> list[Applied]:
        """Apply what a webhook parser returned (one record or a batch), in order.

        Duplicates and out-of-order reports change nothing (``docs/webhooks.md``);
        ``seen`` replaces the per-process ``esc.webhook_seen`` (e.g. a shared one).

        Raises:
            InvalidInput: something other than webhook records.
        """
        if isinstance(records, WebhookRecord):
            batch = [records]
        else:
            try:
                batch = list(records)
            except TypeError:
                batch = [records]  # type: ignore[list-item]  # refused just below
        # All checked before any is applied: a bad item must not leave half a batch done.
        if not all(isinstance(record, WebhookRecord) for record in batch):
            raise InvalidInput(
                "handle_webhook() takes what a webhook parser returned: an InboundMessage,"
                " a DeliveryReport, a ProviderEvent, or a list of them"
            )
        return [apply_webhook(self, record, seen=seen) for record in batch]

    def send_message(self, handoff_id: str, text: str, *, actor: str = "agent") -> Handoff:
        """An agent writes to the customer on the handoff's private channel.

        The message goes through the workflow and the outbox like every other:
        the consent check, quiet hours, the reference code and the audit log all
        apply (the default workflow signs it and adds the case reference).

        Raises:
            NotFound: no such handoff.
            InvalidInput: empty or overlong text (5,000 characters; on SMS, a body
                of more than ``escalate.sms.MAX_SMS_CHARS`` once signed).
            TransitionNotAllowed: the handoff is not in a private conversation yet.
            ConcurrentUpdate: workers kept moving the handoff after it was read (a
                timer fired, a send's result came in) ``CONFLICT_ATTEMPTS`` times,
                each decided again on the handoff as it then was; nothing is written.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("send_message() needs the message text")
        return self._decide(handoff_id, AgentReplied(text=text.strip()), actor)

    def resolve(
        self, handoff_id: str, *, reason: str = "resolved", actor: str = "agent"
    ) -> Handoff:
        """Close a handoff as resolved.

        Raises:
            InvalidInput: ``reason`` is blank or not a string (``ResolveRequested``).
            NotFound: no such handoff.
            TransitionNotAllowed: the handoff is closed already.
            ConcurrentUpdate: as for ``send_message``.
        """
        return self._decide(handoff_id, ResolveRequested(reason=reason), actor)

    def _decide(self, handoff_id: str, event: WorkflowInput, actor: str) -> Handoff:
        """Apply ``event`` to the handoff as stored, again on a fresh read if a worker
        committed to it meanwhile: a caller should not lose a resolve to a timer."""
        applied = outlast(
            ConcurrentUpdate,
            lambda _: self.engine.apply(
                self.handoffs.get(handoff_id), event, actor=actor, claim=self.dispatch_immediately
            ),
        )
        # Outside the retries: the event is committed; dispatching it again would not be.
        return self._dispatch(*applied)

    def run_due(self, *, limit: int = 100) -> DispatchReport:
        """Fire due timers and dispatch due outbox rows; call it from your scheduler.

        Every due timer fires, then every due row goes, ``limit`` at a time: a
        backlog after an outage closes the cases whose follow-up ran its course
        before their stale messages could be sent.

        Raises:
            InvalidInput: ``limit`` is not a positive int (0 would never finish).
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidInput("limit must be a positive int")
        return self.engine.run_due(limit=limit)

    def worker(
        self,
        *,
        interval: float = 1.0,
        limit: int = 100,
        stop: threading.Event | None = None,
    ) -> DispatchReport:
        """Run ``run_due()`` in a loop until ``stop`` is set; return what it did, summed.

        An idle cycle waits ``interval`` seconds; a busy one is followed at once.
        ``ConcurrentUpdate``, ``RateLimited`` and ``StoreBusy`` are logged and the
        cycle tried again after the wait; other errors raise.
        ``escalate worker`` runs it, stopped by SIGINT or SIGTERM (docs/delivery.md).

        Raises:
            InvalidInput: ``interval`` not a positive finite number, or ``limit``
                not a positive int.
        """
        settings = WorkerSettings(interval=interval, limit=limit)
        return run_worker(
            lambda batch: self.run_due(limit=batch), settings, stop or threading.Event()
        )

    # -- queries --------------------------------------------------------------

    def history(self, handoff_id: str) -> list[Event]:
        """The handoff's audit events, oldest first."""
        self.handoffs.get(handoff_id)
        return self.store.events(self.tenant, handoff_id=handoff_id)

    def verify_log(self, *, handoff_id: str | None = None) -> AuditReport:
        """Check the tenant's audit log (or one handoff's chain) for tampering.

        See ``docs/audit.md`` for what it detects; ``report.ok`` is the verdict.

        Raises:
            InvalidInput: ``handoff_id`` is not a string.
            NotFound: no such handoff.
            CorruptRecord: a recorded chain head no longer reads as one.
        """
        if handoff_id is not None:
            if not isinstance(handoff_id, str):
                raise InvalidInput("handoff_id must be a string")
            self.handoffs.get(handoff_id)
        return verify_store(self.store, self.tenant, handoff_id=handoff_id)

    def report(self, *, since: datetime | None = None, until: datetime | None = None) -> SlaReport:
        """SLA figures of the handoffs opened in ``[since, until)``, judged as of now.

        See ``docs/reporting.md`` for the definitions.

        Raises:
            InvalidInput: a bound that is not a datetime, or ``since`` after ``until``.
            NaiveDatetimeError: a bound without a time zone.
        """
        return store_report(
            self.store, self.tenant, as_of=self.clock.now(), since=since, until=until
        )

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, handoff: Handoff, claimed: Sequence[OutboxItem]) -> Handoff:
        """Run the rows the verb's commit claimed, and what their results queue; return the handoff.

        The handoff returned is as this verb and its rows' results committed it,
        without a read, unless those results queued more rows (then it is read
        after they ran).

        A ``StoreError`` settling them is logged, not raised: the change is committed,
        and raising would have the caller make it again (a second message).
        """
        if not self.dispatch_immediately or not claimed:
            # The change queued no message (older due rows are run_due's), so
            # the handoff is as this verb committed it.
            return handoff
        try:
            followed = self.engine.run_claimed(handoff, claimed)
            if not followed.queued:
                return followed.handoff
            # A result's transition queued more work for the same handoff.
            self.engine.dispatch_handoff(handoff.id)
        except StoreError as exc:
            log.warning("handoff %s committed; its messages not all settled: %s", handoff.id, exc)
            return handoff
        return self.handoffs.get(handoff.id)

    def close(self) -> None:
        """Stop the dispatch pool, then close the transports and the store."""
        self.engine.close()
        for transport in self.engine.transports:
            transport.close()
        self.store.close()

    def __enter__(self) -> Escalator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Escalator(tenant={self.tenant!r}, store={self.store!r}, workflow={self.workflow!r})"
        )
