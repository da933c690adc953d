"""``Escalator``: the facade a helpdesk integration holds.

It wires a store, a workflow, transports, a social publisher and a clock for one
tenant, and offers the handful of verbs an integration needs: ``open`` a public
thread, ``contact_provided``, ``inbound`` messages, ``resolve``, and ``run_due``
from a scheduler. Every verb validates its input before it writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from escalate._clock import Clock, SystemClock
from escalate._exceptions import ConcurrentUpdate, InvalidInput, NotFound, TransitionNotAllowed
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id, new_reference
from escalate._messages import InboundMessage
from escalate._models import DEFAULT_TENANT, Channel, Event, Handoff, HandoffState, Thread
from escalate.consent._ledger_service import ConsentLedger, consent_event, make_consent_record
from escalate.consent._records import ConsentAction, ConsentEvidence, ConsentSource, Purpose
from escalate.identity._book import ContactBook, link_event, with_link
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.retry import RetryPolicy
from escalate.social._publisher import RecordingPublisher, SocialPublisher
from escalate.store import Changes, Store, open_store
from escalate.transports._base import Transport
from escalate.workflow._definition import Workflow
from escalate.workflow._engine import DispatchReport, Engine, Notifier, _event
from escalate.workflow._inputs import (
    ContactProvided,
    Opened,
    OptedOut,
    OptInConfirmed,
    ReplyReceived,
    ResolveRequested,
    WorkflowInput,
)
from escalate.workflow._threading import ReplyAddressing

__all__ = ["Escalator", "HandoffQueries"]

#: Whole-message opt-out keywords (trimmed, any case). The consent issue brings
#: locales, free-text revocation and HELP; this is the floor that never moves.
_OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)


def _reply_intent(body: str) -> str:
    """``opt_out``, ``opt_in`` (YES/START/UNSTOP) or ``none``.

    To be replaced by ``escalate.consent.classify_reply`` (issue 4) at merge.
    """
    word = body.strip().upper().rstrip(".!")
    if word in _OPT_OUT_KEYWORDS:
        return "opt_out"
    if word in {"YES", "START", "UNSTOP"}:
        return "opt_in"
    return "none"


def _workflow_input(
    message: InboundMessage, handoff: Handoff, *, opted_out: bool
) -> WorkflowInput | None:
    """What an inbound message means to one handoff (pure)."""
    own_address = handoff.address == message.sender
    if opted_out:
        # Consent belongs to the address: only handoffs on it are declined.
        return OptedOut(channel=message.channel) if own_address else None
    awaiting = handoff.state is HandoffState.AWAITING_CONSENT
    if awaiting and own_address and _reply_intent(message.body) == "opt_in":
        return OptInConfirmed(message=message)
    return ReplyReceived(message=message)


class HandoffQueries:
    """Read access to handoffs, as ``esc.handoffs``."""

    def __init__(self, store: Store, tenant: str) -> None:
        self._store = store
        self._tenant = tenant

    def get(self, handoff_id: str) -> Handoff:
        """The handoff with this id.

        Raises:
            NotFound: no such handoff in this tenant.
        """
        handoff = self._store.get_handoff(self._tenant, handoff_id)
        if handoff is None:
            raise NotFound(f"no handoff {handoff_id!r} in tenant {self._tenant!r}")
        return handoff

    def for_thread(self, platform: str, thread_id: str) -> Handoff | None:
        """The open handoff of a public thread, if any."""
        return self._store.find_open_handoff(self._tenant, platform, thread_id)


class Escalator:
    """Moves public complaints into private, consented conversations.

    Args:
        store: a store URL (``"sqlite:///escalate.db"``, ``"memory://"``) or a ``Store``.
        transports: transports to send with; the first that serves a channel is used.
        workflow: the workflow definition (default: ``Workflow.default()``).
        publisher: posts public replies (default: a ``RecordingPublisher``).
        clock: the time source (default: the system clock, in UTC).
        tenant: the brand or helpdesk account every record belongs to.
        notifier: called with helpdesk notifications the workflow issues.
        retry: the retry policy for retryable send failures.
        dispatch_immediately: execute a change's outbox rows right after it
            commits, instead of waiting for the next ``run_due``.
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
    ) -> None:
        if not isinstance(tenant, str) or not tenant.strip():
            raise InvalidInput("tenant must be a non-empty string")
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
            transports=tuple(transports),
            publisher=self.publisher,
            retry=retry or RetryPolicy(),
        )
        if notifier is not None:
            self.engine.notifier = notifier
        self.dispatch_immediately = dispatch_immediately
        self.contacts = ContactBook(self.store, tenant=tenant, clock=self.clock)
        self.consent = ConsentLedger(self.store, tenant=tenant, clock=self.clock)
        self.handoffs = HandoffQueries(self.store, tenant)

    # -- verbs ----------------------------------------------------------------

    def open(self, thread: Thread) -> Handoff:
        """Escalate a public thread; opening the same thread again returns the same handoff."""
        if not isinstance(thread, Thread):
            raise InvalidInput("open() takes a Thread")
        for _ in range(5):
            existing = self.store.find_open_handoff(self.tenant, thread.platform, thread.thread_id)
            if existing is not None:
                return existing
            now = self.clock.now()
            contact, contact_changed = self.contacts.link_for_author(thread.author, now)
            draft = Handoff(
                id=new_id("ho"),
                tenant=self.tenant,
                reference=new_reference(),
                thread=thread,
                state=HandoffState.OPENED,
                version=0,
                contact_id=contact.id,
                opened_at=now,
                updated_at=now,
            )
            opened = _event(
                draft,
                "handoff.opened",
                now,
                reference=draft.reference,
                platform=thread.platform,
                thread_id=thread.thread_id,
            )
            extra: list[Event] = [opened]
            if contact_changed:
                extra.append(link_event(contact, contact.links[-1], handoff_id=draft.id))
            try:
                handoff = self.engine.apply(
                    draft, Opened(), contacts=(contact,) if contact_changed else (), events=extra
                )
            except ConcurrentUpdate:
                continue  # another worker opened it, or the author/reference raced: look again
            self._dispatch(handoff)
            return self.handoffs.get(handoff.id)
        raise ConcurrentUpdate("could not open the handoff: the thread kept changing")

    def contact_provided(
        self,
        handoff_id: str,
        identity: Identity,
        *,
        consent: ConsentEvidence | None = None,
        actor: str = "customer",
    ) -> Handoff:
        """The customer gave a phone number or email, with the consent evidence if any.

        The identity is linked to the handoff's contact (unless it already belongs
        to another contact, which is recorded, not merged), the consent is
        recorded, and the workflow moves on, all in one transaction.

        Raises:
            NotFound: no such handoff.
            InvalidInput: ``identity`` is not a phone or email.
            TransitionNotAllowed: the handoff is not waiting for contact details.
        """
        if not isinstance(identity, Identity) or identity.kind is IdentityKind.SOCIAL:
            raise InvalidInput("contact_provided() takes a phone or email Identity")
        if consent is not None and not isinstance(consent, ConsentEvidence):
            raise InvalidInput("consent must be a ConsentEvidence")
        handoff = self.handoffs.get(handoff_id)
        now = self.clock.now()
        contacts: tuple[Contact, ...] = ()
        events: list[Event] = []
        contact = self.contacts.get(handoff.contact_id) if handoff.contact_id else None
        owner = self.contacts.resolve(identity)
        if contact is not None and owner is None:
            link = Link(identity=identity, source=LinkSource.CUSTOMER_PROVIDED, at=now, actor=actor)
            contacts = (with_link(contact, link),)
            events.append(link_event(contact, link, handoff_id=handoff.id))
        elif owner is not None and contact is not None and owner.id != contact.id:
            events.append(
                _event(
                    handoff,
                    "identity.conflict",
                    now,
                    actor,
                    other_contact_id=owner.id,
                    identity=str(identity),
                )
            )
        updated = self.engine.apply(
            handoff,
            ContactProvided(identity=identity, consent=consent),
            actor=actor,
            contacts=contacts,
            events=events,
        )
        self._dispatch(updated)
        return self.handoffs.get(handoff_id)

    def inbound(self, message: InboundMessage) -> Handoff | None:
        """A message from a customer on a private channel.

        An opt-out keyword revokes consent for that address, for every purpose.
        A message from a linked address moves that contact's open handoff.
        Returns the handoff it was matched to, or ``None``.
        """
        if not isinstance(message, InboundMessage):
            raise InvalidInput("inbound() takes an InboundMessage")
        now = self.clock.now()
        intent = _reply_intent(message.body)
        if intent == "opt_out":
            record = make_consent_record(
                tenant=self.tenant,
                address=message.sender,
                channel=message.channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.REVOKE,
                evidence=ConsentEvidence(
                    source=ConsentSource.SMS_KEYWORD,
                    provider_message_id=message.provider_message_id,
                ),
                at=now,
                actor="customer",
                all_purposes=True,
            )
            self.store.commit(Changes(consent=(record,), events=(consent_event(record),)))
        return self._route_inbound(message, opted_out=intent == "opt_out")

    # -- workflow routing of inbound messages (issue 6) ---------------------------
    # Kept apart from the consent handling above so the two can be merged
    # independently: consent records the revoke; this part moves the handoffs.

    def _route_inbound(self, message: InboundMessage, *, opted_out: bool) -> Handoff | None:
        """Feed ``message`` to the open handoff(s) it belongs to.

        An email to a signed reply-to address (``support+<token>@...``) goes to
        that handoff; otherwise the sender's contact's open handoffs are tried,
        newest first. An opt-out declines every open handoff on that address;
        a YES answers a pending double opt-in; anything else is a reply.
        """
        handoffs: list[Handoff] = []
        if message.channel is Channel.EMAIL and message.recipient:
            routed = self.handoff_for_reply_address(message.recipient)
            if routed is not None and routed.is_open:
                handoffs.append(routed)
        contact = self.contacts.resolve(message.sender)
        if contact is not None:
            for handoff in reversed(self.store.open_handoffs_for_contact(self.tenant, contact.id)):
                if handoff.id not in {h.id for h in handoffs}:
                    handoffs.append(handoff)
        matched: Handoff | None = None
        for handoff in handoffs:
            event = _workflow_input(message, handoff, opted_out=opted_out)
            if event is None or not self.workflow.accepts(handoff.state, event):
                continue
            received = _event(
                handoff,
                "reply.received",
                self.clock.now(),
                "customer",
                channel=message.channel.value,
                input=event.kind,
                provider_message_id=message.provider_message_id,
            )
            try:
                updated = self.engine.apply(handoff, event, actor="customer", events=(received,))
            except TransitionNotAllowed:
                continue  # a guard refused it (e.g. a YES from another address)
            self._dispatch(updated)
            matched = self.handoffs.get(handoff.id)
            if not isinstance(event, OptedOut):
                return matched
        return matched

    def handoff_for_reply_address(self, recipient: str) -> Handoff | None:
        """The handoff a signed reply-to address names, or ``None`` (not ours, or forged)."""
        addressing = self.workflow.settings.get("reply_to")
        if not isinstance(addressing, ReplyAddressing):
            return None
        handoff_id = addressing.resolve(recipient)
        if handoff_id is None:
            return None
        return self.store.get_handoff(self.tenant, handoff_id)

    def resolve(
        self, handoff_id: str, *, reason: str = "resolved", actor: str = "agent"
    ) -> Handoff:
        """Close a handoff as resolved."""
        handoff = self.handoffs.get(handoff_id)
        updated = self.engine.apply(handoff, ResolveRequested(reason=reason), actor=actor)
        self._dispatch(updated)
        return self.handoffs.get(handoff_id)

    def run_due(self, *, limit: int = 100) -> DispatchReport:
        """Fire due timers and dispatch due outbox rows; call it from your scheduler."""
        report = DispatchReport(timers_fired=self.engine.fire_timers(limit=limit))
        while True:
            batch = self.engine.dispatch(limit=limit)
            report += batch
            if sum(vars(batch).values()) < limit:
                return report

    # -- queries --------------------------------------------------------------

    def history(self, handoff_id: str) -> list[Event]:
        """The handoff's audit events, oldest first."""
        self.handoffs.get(handoff_id)
        return self.store.events(self.tenant, handoff_id=handoff_id)

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, handoff: Handoff) -> None:
        if self.dispatch_immediately:
            # Results (a posted reply) may queue more work for the same handoff.
            for _ in range(5):
                if not any(vars(self.engine.dispatch(handoff_id=handoff.id)).values()):
                    break

    def close(self) -> None:
        """Close the store and the transports."""
        for transport in self.engine.transports:
            transport.close()
        self.store.close()

    def __enter__(self) -> Escalator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Escalator(tenant={self.tenant!r}, store={self.store!r}, workflow={self.workflow!r})"
        )
