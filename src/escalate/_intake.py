"""``Escalator.contact_provided``: a customer's phone number or email, taken for a case.

The address is linked to the case's contact (or a conflict is proposed to a
human), the consent evidence recorded and the workflow moved on, in one
transaction. Kept apart from the facade so each verb's rules read on their own.
"""

from __future__ import annotations

from escalate._conflicts import outlast
from escalate._exceptions import ConcurrentUpdate, InvalidInput, NotTheAuthor
from escalate._facade import EscalatorParts
from escalate._identity import Identity, IdentityKind
from escalate._models import Event, Handoff
from escalate.consent._records import ConsentEvidence
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.identity._linking import link_event, made_for, with_link
from escalate.identity._policy import LinkAction, LinkSituation
from escalate.store._changes import NO_CHANGES
from escalate.store._protocol import OutboxItem
from escalate.workflow._events import handoff_event
from escalate.workflow._inputs import ContactProvided

__all__ = ["ContactIntake"]


class ContactIntake(EscalatorParts):
    """The ``Escalator`` verb that takes a customer's contact details."""

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
            ConcurrentUpdate: workers kept moving the handoff after it was read (its
                public reply posted, a timer fired) ``CONFLICT_ATTEMPTS`` times, each
                decided again on what was then stored; nothing is written.
        """
        if not isinstance(identity, Identity) or identity.kind is IdentityKind.SOCIAL:
            raise InvalidInput("contact_provided() takes a phone or email Identity")
        if consent is not None and not isinstance(consent, ConsentEvidence):
            raise InvalidInput("consent must be a ConsentEvidence")
        if author is not None and not isinstance(author, Identity):
            raise InvalidInput("author must be the social Identity the visitor signed in with")
        # A worker posting the public reply moves a case just opened: the details
        # are decided again on the case as it now is, not refused.
        applied = outlast(
            ConcurrentUpdate,
            lambda _: self._contact_provided(handoff_id, identity, consent, actor, author),
        )
        return self._dispatch(*applied)

    def _contact_provided(
        self,
        handoff_id: str,
        identity: Identity,
        consent: ConsentEvidence | None,
        actor: str,
        author: Identity | None,
    ) -> tuple[Handoff, list[OutboxItem]]:
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
                handoff_event(
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
        return self.engine.apply(
            handoff,
            ContactProvided(identity=identity, consent=consent),
            actor=actor,
            contacts=contacts,
            events=events,
            extra=extra,
            claim=self.dispatch_immediately,
        )

    def _check_author(self, handoff: Handoff, author: Identity | None, actor: str) -> None:
        """Refuse contact details from anyone not shown to be the thread's author."""
        if author is None:
            if actor == "customer" and self.workflow.settings.get("contact_requires_author"):
                raise NotTheAuthor(
                    "this workflow takes a customer's contact details only with author="
                    " (the platform account the consent page signed them in with): its"
                    " link is in a public reply. To take them from anyone who opens it,"
                    " build the workflow with contact_requires_author=False"
                )
            return
        # Equal by platform and user id: a renamed handle is still the author.
        if author != handoff.thread.author:
            raise NotTheAuthor(
                f"the signed-in account is not the author of case {handoff.reference}"
            )
