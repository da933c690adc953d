"""``Escalator``: the facade a helpdesk integration holds.

It wires a store, a workflow, transports, a social publisher and a clock for one
tenant, and offers the handful of verbs an integration needs: ``open`` a public
thread, ``contact_provided``, ``inbound`` messages, ``resolve``, and ``run_due``
from a scheduler. Every verb validates its input before it writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType

from escalate._clock import Clock, SystemClock
from escalate._exceptions import (
    ConcurrentUpdate,
    CrossTenantError,
    InvalidInput,
    NotFound,
    NotTheAuthor,
    TransitionNotAllowed,
)
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id, new_reference, normalize_reference
from escalate._messages import InboundMessage
from escalate._models import DEFAULT_TENANT, Channel, Event, Handoff, HandoffState, Thread
from escalate._outbox import Outbox
from escalate._pacing import Pacer
from escalate._routing import routing_order
from escalate.audit import AuditReport, verify_store
from escalate.consent._inbound import pending_opt_in, plan_reply
from escalate.consent._keywords import ReplyIntent
from escalate.consent._ledger_service import ConsentLedger, consent_facts
from escalate.consent._policy import ConsentPolicy
from escalate.consent._records import ConsentEvidence, ConsentFact
from escalate.identity._book import ContactBook
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.identity._extract import extract_identities, find_identities
from escalate.identity._linking import link_event, made_for, with_link
from escalate.identity._merge import merged_contact_ids
from escalate.identity._policy import LinkAction, LinkSituation
from escalate.reporting import SlaReport, store_report
from escalate.retry import RetryPolicy
from escalate.social._publisher import RecordingPublisher, SocialPublisher
from escalate.store import Changes, OutboxItem, Store, open_store
from escalate.store._changes import NO_CHANGES
from escalate.transports._base import Transport
from escalate.webhooks._apply import Applied, MemorySeen, Seen, WebhookRecord, apply_webhook
from escalate.workflow._definition import Workflow
from escalate.workflow._engine import DispatchReport, Engine, Notifier, _event
from escalate.workflow._inputs import (
    AgentReplied,
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


def _workflow_input(
    message: InboundMessage,
    handoff: Handoff,
    *,
    opted_out: bool,
    confirmed_opt_in: bool,
    help_request: bool = False,
) -> WorkflowInput | None:
    """What an inbound message means to one handoff (pure).

    ``opted_out``, ``confirmed_opt_in`` and ``help_request`` are the consent
    side's reading of the reply (``classify_reply`` and the ledger), so one
    classifier decides both. A HELP is answered by the consent side and is not
    an answer about the case: the reminder still goes if nothing else comes.
    """
    if help_request:
        return None
    own_address = handoff.address == message.sender
    if opted_out:
        # Consent belongs to the address: only handoffs on it are declined.
        return OptedOut(channel=message.channel) if own_address else None
    awaiting = handoff.state is HandoffState.AWAITING_CONSENT
    if awaiting and own_address and confirmed_opt_in:
        return OptInConfirmed(message=message)
    return ReplyReceived(message=message)


def _reopening(earlier: Sequence[Handoff]) -> dict[str, str]:
    """What ``handoff.opened`` records of a thread escalated again after a closed case.

    The thread's ``posted_at`` is its first post's; the complaint that reopens it
    came after the last case closed, so the SLA report starts its clock there.
    """
    closed = [handoff for handoff in earlier if handoff.closed_at is not None]
    if not closed:
        return {}
    last = max(closed, key=lambda handoff: (handoff.closed_at, handoff.id))
    assert last.closed_at is not None  # filtered above
    return {"reopens": last.id, "previous_closed_at": last.closed_at.isoformat()}


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

    def by_reference(self, reference: str) -> Handoff:
        """The handoff a customer's reference code names (``K7QP-3M``, as typed or read).

        Case, spaces and hyphens are ignored, and I, L and O read as 1, 1 and 0.

        Raises:
            InvalidInput: not a reference code.
            NotFound: no handoff with that code in this tenant.
        """
        code = normalize_reference(reference)
        if code is None:
            raise InvalidInput("not a reference code (like K7QP-3M)")
        handoff = self._store.find_handoff_by_reference(self._tenant, code)
        if handoff is None:
            raise NotFound(f"no handoff with reference {code!r} in tenant {self._tenant!r}")
        return handoff


class Escalator:
    """Moves public complaints into private, consented conversations.

    Args:
        store: a store URL (``"sqlite:///escalate.db"``, ``"memory://"``) or a ``Store``.
        transports: transports to send with; those serving one channel are tried in
            this order (provider fallback: a provider's own permanent failure moves
            the message to the next).
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
        if not isinstance(tenant, str) or not tenant.strip():
            raise InvalidInput("tenant must be a non-empty string")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput("concurrency must be a positive integer")
        # Checked before the store is opened, so a refused call creates no database file.
        if not isinstance(store, str | Store):
            raise InvalidInput("store must be a store URL or a Store")
        if workflow is not None and not isinstance(workflow, Workflow):
            raise InvalidInput("workflow must be a Workflow (e.g. Workflow.default())")
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
            opened = _event(
                draft,
                "handoff.opened",
                now,
                reference=draft.reference,
                platform=thread.platform,
                thread_id=thread.thread_id,
                **_reopening(earlier),
            )
            extra: list[Event] = [opened]
            if author_event is not None:
                extra.append(author_event.model_copy(update={"handoff_id": draft.id}))
            shared = extract_identities(thread.text, self.region)
            if shared:
                # The customer posted an address publicly: the workflow can offer
                # to move on and warn them. Recorded, never linked on a guess.
                extra.append(
                    _event(
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

    def contact_provided(
        self,
        handoff_id: str,
        identity: Identity,
        *,
        consent: ConsentEvidence | None = None,
        actor: str = "customer",
        author: Identity | None = None,
    ) -> Handoff:
        """The customer gave a phone number or email, with the consent evidence if any.

        The contacts' link policy decides what happens to the identity: linked to
        the handoff's contact when free; when another contact holds it, an
        ``identity.conflict`` event and a merge proposal for a human (never a
        silent merge). The consent is recorded and the workflow moves on, all in
        one transaction.

        A consent page reached from the public reply can be opened by anyone who
        read it. ``author`` is the platform account the page signed the visitor
        in with (``Identity.social("x", user_id)``): it must be the thread's
        author. A workflow with ``contact_requires_author`` set refuses details
        from the customer without it (an agent's, ``actor != "customer"``, are
        taken on the agent's word).

        Raises:
            NotFound: no such handoff.
            InvalidInput: ``identity`` is not a phone or email.
            NotTheAuthor: ``author`` is not the thread's author, or is missing
                where the workflow requires it; nothing is written.
            TransitionNotAllowed: the handoff is not waiting for contact details.
        """
        if not isinstance(identity, Identity) or identity.kind is IdentityKind.SOCIAL:
            raise InvalidInput("contact_provided() takes a phone or email Identity")
        if consent is not None and not isinstance(consent, ConsentEvidence):
            raise InvalidInput("consent must be a ConsentEvidence")
        if author is not None and not isinstance(author, Identity):
            raise InvalidInput("author must be the social Identity the visitor signed in with")
        handoff = self.handoffs.get(handoff_id)
        self._check_author(handoff, author, actor)
        now = self.clock.now()
        contacts: tuple[Contact, ...] = ()
        events: list[Event] = []
        extra = NO_CHANGES
        # The handoff may point at a contact merged away since: act on its survivor.
        case_contact = handoff.contact_id
        contact = self.contacts.live(case_contact) if case_contact else None
        owner = self.contacts.resolve(identity)
        action = (
            self.contacts.policy(LinkSituation(identity, contact, owner))
            if contact is not None
            else LinkAction.NOTHING
        )
        if case_contact and contact is not None and owner is None and action is LinkAction.LINK:
            link = Link(identity=identity, source=LinkSource.CUSTOMER_PROVIDED, at=now, actor=actor)
            # For the case's own contact: an unmerge gives the address back to it.
            link = made_for(link, contact, case_contact)
            linked = with_link(contact, link)
            contacts = (linked,)
            events.append(link_event(linked, link, handoff_id=handoff.id))
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
            # A customer-provided address is an unverified claim: a human decides.
            _, extra = self.contacts.propose(contact, owner, identity, "identity_claimed")
        updated, claimed = self.engine.apply(
            handoff,
            ContactProvided(identity=identity, consent=consent),
            actor=actor,
            contacts=contacts,
            events=events,
            extra=extra,
            claim=self.dispatch_immediately,
        )
        return self._dispatch(updated, claimed)

    def _check_author(self, handoff: Handoff, author: Identity | None, actor: str) -> None:
        """Refuse contact details from anyone not shown to be the thread's author."""
        if author is None:
            if actor == "customer" and self.workflow.settings.get("contact_requires_author"):
                raise NotTheAuthor(
                    "this workflow takes a customer's contact details only with author="
                    " (the platform account the consent page signed them in with)"
                )
            return
        # Equal by platform and user id: a renamed handle is still the author.
        if author != handoff.thread.author:
            raise NotTheAuthor(
                f"the signed-in account is not the author of case {handoff.reference}"
            )

    def inbound(self, message: InboundMessage) -> Handoff | None:
        """A message from a customer on a private channel.

        The reply is classified first (``escalate.consent.classify_reply``): an
        opt-out (keyword or free text) revokes every purpose for that address and
        queues its one confirmation; START re-grants; YES confirms a pending
        double opt-in; HELP/INFO is answered with the policy's help text, and is
        no answer about the case (its reminder still comes). Then any other
        message from a linked address moves that contact's open handoff.
        Returns the handoff it was matched to, or ``None`` (a HELP: ``None``).

        Raises:
            InvalidInput: not an ``InboundMessage``.
            CrossTenantError: the message names another tenant.
        """
        if not isinstance(message, InboundMessage):
            raise InvalidInput("inbound() takes an InboundMessage")
        if message.tenant != self.tenant:
            raise CrossTenantError(
                f"message for tenant {message.tenant!r} given to tenant {self.tenant!r}'s escalator"
            )
        now = self.clock.now()
        contact = self.contacts.resolve(message.sender)
        if message.sender.kind is IdentityKind.SOCIAL:
            # A DM: consent is kept for phone numbers and emails, not social accounts.
            return self._route_inbound(message, contact, opted_out=False, confirmed_opt_in=False)
        handoffs = self._open_handoffs(contact) if contact else []
        facts = consent_facts(self.store, self.tenant, message.sender, self.engine.consent)
        # A case that asked this number for its YES though the number belongs to
        # another contact (a conflict left for an agent) is still answered by it.
        asking = self._asking_case(facts, message.sender, handoffs)
        handoffs += asking
        ordered = routing_order(message.body, handoffs)
        signed = self._signed_handoff(message)
        if signed is not None and signed.is_open:
            # The case the reply goes to is the one its consent side speaks of
            # (a review notice names it), not the sender's newest.
            ordered = [signed, *(h for h in ordered if h.id != signed.id)]
        plan = plan_reply(
            message,
            facts,
            tenant=self.tenant,
            handoff=ordered[0] if ordered else None,
            policy=self.engine.consent,
            brand=str(self.workflow.settings.get("brand", "Support")),
            now=now,
            awaiting_opt_in=any(
                h.state is HandoffState.AWAITING_CONSENT and h.address == message.sender
                for h in handoffs
            ),
        )
        committed = bool(plan.records or plan.events or plan.outbox)
        if committed:
            try:
                self.store.commit(
                    Changes(consent=plan.records, events=plan.events, outbox=plan.outbox)
                )
            except ConcurrentUpdate:
                # The only unique key here is the answer's idempotency key: this
                # provider message was handled before (a webhook retry).
                plan = replace(plan, outbox=())
        matched = self._route_inbound(
            message,
            contact,
            opted_out=plan.revoked,
            confirmed_opt_in=plan.confirmed_opt_in,
            help_request=plan.classification.intent is ReplyIntent.HELP,
            # Read again after a consent commit: it may have settled their sends.
            ordered_handoffs=None if committed else ordered,
            also=asking,
            signed=signed,
        )
        if plan.outbox and self.dispatch_immediately:
            self.engine.dispatch(handoff_id=plan.outbox[0].handoff_id)
        return matched

    # -- workflow routing of inbound messages ---------------------------------
    # The consent side (above) records what the reply meant for the address;
    # this part moves the handoffs.

    def _route_inbound(
        self,
        message: InboundMessage,
        contact: Contact | None,
        *,
        opted_out: bool,
        confirmed_opt_in: bool,
        help_request: bool = False,
        ordered_handoffs: list[Handoff] | None = None,
        also: Sequence[Handoff] = (),
        signed: Handoff | None = None,
    ) -> Handoff | None:
        """Feed ``message`` to the open handoff(s) it belongs to.

        An email to a signed reply-to address (``support+<token>@...``) goes to
        that handoff (``signed``, read by the caller); otherwise the sender's
        contact's open handoffs are tried: the one whose reference code the text
        names first, then newest first (``escalate._routing``;
        ``ordered_handoffs`` when the caller has just read and ordered them, else
        read and ordered here). An opt-out declines every open handoff on that
        address; a YES answers a pending double opt-in; anything else is a
        reply. A reply to a closed case's signed address goes nowhere: it is
        about that case, and another case of the sender's is not where it belongs.
        """
        handoffs: list[Handoff] = []
        if signed is not None and ordered_handoffs is None:
            signed = self.store.get_handoff(self.tenant, signed.id)  # read again, as below
        if signed is not None:
            if signed.is_open:
                handoffs.append(signed)
            elif not opted_out:  # a STOP still declines every case on the address
                return None
        if contact is not None or also:  # the sender's contact, resolved once by inbound()
            routed_ids = {h.id for h in handoffs}
            if ordered_handoffs is None:
                own = self._open_handoffs(contact) if contact is not None else []
                ordered_handoffs = routing_order(message.body, [*own, *also])
            for handoff in ordered_handoffs:
                if handoff.id not in routed_ids:
                    handoffs.append(handoff)
        if confirmed_opt_in:
            # A YES answers every opt-in request to this address (the grant is the
            # address's), and then is no reply to another case.
            awaiting = [
                h
                for h in handoffs
                if h.state is HandoffState.AWAITING_CONSENT and h.address == message.sender
            ]
            handoffs = awaiting or handoffs
        matched: Handoff | None = None
        for handoff in handoffs:
            event = _workflow_input(
                message,
                handoff,
                opted_out=opted_out,
                confirmed_opt_in=confirmed_opt_in,
                help_request=help_request,
            )
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
                updated, claimed = self.engine.apply(
                    handoff,
                    event,
                    actor="customer",
                    events=(received,),
                    claim=self.dispatch_immediately,
                )
            except TransitionNotAllowed:
                continue  # a guard refused it (e.g. a YES from another address)
            matched = self._dispatch(updated, claimed)
            if not isinstance(event, OptedOut | OptInConfirmed):
                return matched
        return matched

    def _signed_handoff(self, message: InboundMessage) -> Handoff | None:
        """The handoff an email's signed reply-to recipient names, open or closed."""
        if message.channel is not Channel.EMAIL or not message.recipient:
            return None
        return self.handoff_for_reply_address(message.recipient)

    def _asking_case(
        self, facts: Sequence[ConsentFact], sender: Identity, known: Sequence[Handoff]
    ) -> list[Handoff]:
        """The open case awaiting this address's YES, when it is not among ``known``."""
        pending = pending_opt_in(list(facts))
        handoff_id = getattr(pending, "handoff_id", None)
        if handoff_id is None or any(h.id == handoff_id for h in known):
            return []
        handoff = self.store.get_handoff(self.tenant, handoff_id)
        if (
            handoff is None
            or handoff.state is not HandoffState.AWAITING_CONSENT
            or handoff.address != sender
        ):
            return []
        return [handoff]

    def _open_handoffs(self, contact: Contact) -> list[Handoff]:
        """The contact's open handoffs, and those of contacts merged into it, oldest first.

        A merge leaves a handoff on the contact it was opened for (an unmerge then
        puts everything back): its replies now come in under the survivor.
        """
        contact_ids = merged_contact_ids(self.store, self.tenant, contact.id)
        found = [
            handoff
            for contact_id in contact_ids
            for handoff in self.store.open_handoffs_for_contact(self.tenant, contact_id)
        ]
        if len(contact_ids) > 1:
            found.sort(key=lambda handoff: (handoff.opened_at, handoff.id))
        return found

    def handle_webhook(
        self, records: WebhookRecord | Iterable[WebhookRecord], *, seen: Seen | None = None
    ) -> list[Applied]:
        """Apply what a webhook parser returned (one record or a batch), in order.

        Duplicates and out-of-order reports change nothing (``docs/webhooks.md``);
        ``seen`` replaces the per-process ``esc.webhook_seen`` (e.g. a shared one).

        Raises:
            InvalidInput: something other than webhook records.
        """
        batch = [records] if isinstance(records, WebhookRecord) else list(records)
        return [apply_webhook(self, record, seen=seen or self.webhook_seen) for record in batch]

    def handoff_for_reply_address(self, recipient: str) -> Handoff | None:
        """The handoff a signed reply-to address names, or ``None`` (not ours, or forged).

        ``recipient`` may be the whole ``To``/``Cc`` header (``ReplyAddressing.resolve``).
        """
        addressing = self.workflow.settings.get("reply_to")
        if not isinstance(addressing, ReplyAddressing):
            return None
        handoff_id = addressing.resolve(recipient)
        if handoff_id is None:
            return None
        return self.store.get_handoff(self.tenant, handoff_id)

    def send_message(self, handoff_id: str, text: str, *, actor: str = "agent") -> Handoff:
        """An agent writes to the customer on the handoff's private channel.

        The message goes through the workflow and the outbox like every other:
        the consent check, quiet hours, the reference code and the audit log all
        apply (the default workflow signs it and adds the case reference).

        Raises:
            NotFound: no such handoff.
            InvalidInput: empty or overlong text.
            TransitionNotAllowed: the handoff is not in a private conversation yet.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("send_message() needs the message text")
        handoff = self.handoffs.get(handoff_id)
        updated, claimed = self.engine.apply(
            handoff, AgentReplied(text=text.strip()), actor=actor, claim=self.dispatch_immediately
        )
        return self._dispatch(updated, claimed)

    def resolve(
        self, handoff_id: str, *, reason: str = "resolved", actor: str = "agent"
    ) -> Handoff:
        """Close a handoff as resolved."""
        handoff = self.handoffs.get(handoff_id)
        updated, claimed = self.engine.apply(
            handoff, ResolveRequested(reason=reason), actor=actor, claim=self.dispatch_immediately
        )
        return self._dispatch(updated, claimed)

    def run_due(self, *, limit: int = 100) -> DispatchReport:
        """Fire due timers and dispatch due outbox rows; call it from your scheduler.

        Raises:
            InvalidInput: ``limit`` is not a positive int (0 would never finish).
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidInput("limit must be a positive int")
        report = DispatchReport(timers_fired=self.engine.fire_timers(limit=limit))
        report += self.engine.drain(batch=limit)
        return report

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
        """
        if not self.dispatch_immediately or not claimed:
            # The change queued no message (older due rows are run_due's), so
            # the handoff is as this verb committed it.
            return handoff
        followed = self.engine.run_claimed(handoff, claimed)
        if not followed.queued:
            return followed.handoff
        # A result's transition queued more work for the same handoff.
        self.engine.dispatch_handoff(handoff.id)
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
