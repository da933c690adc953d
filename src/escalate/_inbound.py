"""``Escalator.inbound``: a customer's private message, read for consent and for its case.

The consent side (STOP, START, YES, HELP, free-text revocation) records what the
reply means for the address; then the message moves the handoff(s) it belongs
to: the one a signed reply-to address names, else the sender's open cases, the
one whose reference code the text names first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from escalate._conflicts import CONFLICT_ATTEMPTS, outlast
from escalate._exceptions import (
    ConcurrentUpdate,
    CorruptRecord,
    CrossTenantError,
    InvalidInput,
    TransitionNotAllowed,
)
from escalate._facade import EscalatorParts
from escalate._identity import Identity, IdentityKind
from escalate._inbound_unreadable import record_opt_out_regardless
from escalate._messages import InboundMessage
from escalate._models import Channel, Handoff, HandoffState
from escalate._routing import routing_order
from escalate.consent._inbound import pending_opt_in, plan_reply
from escalate.consent._keywords import ReplyIntent
from escalate.consent._ledger_service import consent_facts
from escalate.consent._records import ConsentAction, ConsentFact
from escalate.consent._unverified import (
    held_cases,
    hold_unverified,
    opt_out_unverified,
    reply_unverified,
)
from escalate.identity._contact import Contact
from escalate.identity._merge import merged_contact_ids, unlinked_from
from escalate.store import Changes, OutboxItem
from escalate.workflow._events import handoff_event
from escalate.workflow._inputs import (
    OptedOut,
    OptInConfirmed,
    ReplyReceived,
    WorkflowInput,
)
from escalate.workflow._threading import ReplyAddressing

__all__ = ["REPLY_ATTEMPTS", "InboundRouting"]

#: How many times a reply is decided on its case while other writers keep
#: moving the case first (``FEED_ATTEMPTS`` is the same for a system input).
REPLY_ATTEMPTS = CONFLICT_ATTEMPTS


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


class InboundRouting(EscalatorParts):
    """The ``Escalator`` verbs that take what customers send privately."""

    def inbound(self, message: InboundMessage) -> Handoff | None:
        """A message from a customer on a private channel.

        The reply is classified first (``escalate.consent.classify_reply``): an
        opt-out (keyword or free text) revokes every purpose for that address and
        queues its one confirmation (an email one whose sender could not be
        authenticated is held for a person instead, and is no answer about any
        case: ``consent/_unverified.py``); START re-grants; YES confirms a
        pending double opt-in; HELP/INFO is answered with the policy's help
        text, and is no answer about the case (its reminder still comes). Then
        any other message from a linked address moves that contact's open handoff
        (or another contact's open case that writes to that very address: a
        number two people gave; ``_texting_cases``), unless it is an email from
        a sender that could not be authenticated: held like such an opt-out.
        Returns the handoff it was matched to, or ``None`` (a HELP: ``None``); a
        held opt-out or reply returns the first case told of it, as read (it changed
        nothing of it), or ``None`` when no open case is on the address.

        Raises:
            InvalidInput: not an ``InboundMessage``.
            CrossTenantError: the message names another tenant.
            ConcurrentUpdate: other writers moved the case first ``REPLY_ATTEMPTS``
                times in a row (one is outlasted: see ``_feed_reply``).
            CorruptRecord: a record it reads does not (an opt-out is recorded first).
        """
        if not isinstance(message, InboundMessage):
            raise InvalidInput("inbound() takes an InboundMessage")
        if message.tenant != self.tenant:
            raise CrossTenantError(
                f"message for tenant {message.tenant!r} given to tenant {self.tenant!r}'s escalator"
            )
        now = self.clock.now()
        if message.sender.kind is IdentityKind.SOCIAL:
            # A DM: consent is kept for phone numbers and emails, not social accounts.
            contact = self.contacts.resolve(message.sender)
            return self._route_inbound(message, contact, opted_out=False, confirmed_opt_in=False)
        try:
            contact = self.contacts.resolve(message.sender)
            handoffs = self._open_handoffs(contact) if contact else []
            facts = consent_facts(self.store, self.tenant, message.sender, self.engine.consent)
            # A case that asked this number for its YES though the number belongs to
            # another contact (a conflict left for an agent) is still answered by it.
            asking = self._asking_case(facts, message.sender, handoffs)
            handoffs += asking
            texting = self._texting_cases(facts, message.sender, contact, handoffs)
            ordered = routing_order(message.body, handoffs, texting)
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
                    for h in (*handoffs, *texting)
                ),
            )
        except CorruptRecord as unreadable:
            # A STOP needs none of these reads: recorded, or it would be lost.
            record_opt_out_regardless(self, message, unreadable, now)
            raise
        policy = self.engine.consent
        held = (plan.revoked and opt_out_unverified(message, policy, signed=signed)) or (
            reply_unverified(plan, message, policy, signed=signed)
        )
        if held:
            plan = hold_unverified(
                plan, message, ordered, tenant=self.tenant, now=now, signed=signed
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
        if held:
            # Not the customer's answer as far as we know: it moves no case and
            # cancels no timer; the notice is how a person sees it.
            matched = next(iter(held_cases(message, ordered, signed=signed)), None)
        else:
            matched = self._route_inbound(
                message,
                contact,
                opted_out=plan.revoked,
                confirmed_opt_in=plan.confirmed_opt_in,
                help_request=plan.classification.intent is ReplyIntent.HELP,
                # Read again after a consent commit: it may have settled their sends.
                ordered_handoffs=None if committed else ordered,
                also=asking,
                others=texting,
                signed=signed,
            )
        if self.dispatch_immediately:
            for handoff_id in dict.fromkeys(item.handoff_id for item in plan.outbox):
                self.engine.dispatch(handoff_id=handoff_id)
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
        others: Sequence[Handoff] = (),
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
        if contact is not None or also or others:  # the contact, resolved once by inbound()
            routed_ids = {h.id for h in handoffs}
            if ordered_handoffs is None:
                own = self._open_handoffs(contact) if contact is not None else []
                ordered_handoffs = routing_order(message.body, [*own, *also], others)
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
            fed = self._feed_reply(
                message,
                handoff,
                opted_out=opted_out,
                confirmed_opt_in=confirmed_opt_in,
                help_request=help_request,
            )
            if fed is None:
                continue
            event, updated, claimed = fed
            matched = self._dispatch(updated, claimed)
            if not isinstance(event, OptedOut | OptInConfirmed):
                return matched
        return matched

    def _feed_reply(
        self, message: InboundMessage, handoff: Handoff, **reading: bool
    ) -> tuple[WorkflowInput, Handoff, list[OutboxItem]] | None:
        """Move ``handoff`` by ``message``: the input, the handoff and the rows claimed.

        ``None`` when the case does not take it (its state, a guard, or it closed).
        Another writer's commit to the case after we read it (a worker, in this
        process or another, posting the public reply or firing a timer) refuses
        ours: the case is read again and the reply decided anew, up to
        ``REPLY_ATTEMPTS`` times. Raised, the reply would be lost (a provider
        does not retry an incoming message), and its reminder would still go.
        """

        def attempt(number: int) -> tuple[WorkflowInput, Handoff, list[OutboxItem]] | None:
            current = handoff
            if number > 1:
                fresh = self.store.get_handoff(self.tenant, handoff.id)
                if fresh is None or not fresh.is_open:
                    return None  # closed meanwhile: routed now, it would not be tried
                current = fresh
            event = _workflow_input(message, current, **reading)
            if event is None or not self.workflow.accepts(current.state, event):
                return None
            received = handoff_event(
                current,
                "reply.received",
                self.clock.now(),
                "customer",
                channel=message.channel.value,
                input=event.kind,
                provider_message_id=message.provider_message_id,
            )
            try:
                updated, claimed = self.engine.apply(
                    current,
                    event,
                    actor="customer",
                    events=(received,),
                    claim=self.dispatch_immediately,
                )
            except TransitionNotAllowed:
                return None  # a guard refused it (e.g. a YES from another address)
            return event, updated, claimed

        return outlast(ConcurrentUpdate, attempt, attempts=REPLY_ATTEMPTS)

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

    def _texting_cases(
        self,
        facts: Sequence[ConsentFact],
        sender: Identity,
        owner: Contact | None,
        known: Sequence[Handoff],
    ) -> list[Handoff]:
        """Open cases on this address that are not among ``known``, oldest first.

        A number two people gave is linked to the first one's contact only (the
        second is an identity conflict, never a merge), yet the second one's case
        texts it, under the consent its own transition recorded, tied to it.
        The replies from that number belong to that case too, unless its
        contact let the number go ("this isn't me": ``unlinked_from``).
        """
        known_ids = {h.id for h in known}
        # A case's own grant names it (a revoke names it too, but adds no case):
        # one candidate per past case of the address, read in one query.
        wanted = [
            handoff_id
            for fact in facts
            if fact.action is ConsentAction.GRANT
            and (handoff_id := getattr(fact, "handoff_id", None)) is not None
            and handoff_id not in known_ids
        ]
        if not wanted:
            return []
        found = self.store.get_handoffs(self.tenant, list(dict.fromkeys(wanted)))
        cases = [
            h
            for h in found.values()
            if h.is_open
            and h.address == sender
            and h.contact_id is not None
            and not unlinked_from(self.store, self.tenant, h.contact_id, sender, owner)
        ]
        return sorted(cases, key=lambda handoff: (handoff.opened_at, handoff.id))

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
