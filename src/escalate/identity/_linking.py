"""Making a link: the link a caller states, checked; the contact's next version holding
it, and the audit event for it; a changed display handle; a thread author's contact.

``ContactBook.link``, a case's ``contact_provided`` and a verification link an
identity for a contact that may have been merged into another since: the link
goes to the live contact, remembering the one it was made for (``Link.origin``),
so that undoing the merge gives it back to that contact and its cases.
``made_for`` is the one place that decides it, for all three.
"""

from __future__ import annotations

from datetime import datetime

from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.identity._merge import contact_event

__all__ = [
    "LinkEvidence",
    "author_contact",
    "link_event",
    "link_source",
    "made_for",
    "new_contact",
    "stated_link",
    "with_link",
    "with_new_handle",
]


def new_contact(tenant: str, link: Link) -> Contact:
    """A new contact holding one link."""
    return Contact(id=new_id("ct"), tenant=tenant, links=(link,), created_at=link.at)


def made_for(link: Link, live: Contact, contact_id: str) -> Link:
    """``link``, to be added to ``live``, as made for ``contact_id``.

    ``live`` is the contact ``contact_id`` is, or was merged into. Made for a
    merged-away contact, the link names it as its ``origin``: an unmerge gives
    the identity back to it, so its cases keep their customer's address.
    """
    if contact_id == live.id:
        return link
    return link.model_copy(update={"origin": contact_id})


def with_link(contact: Contact, link: Link) -> Contact:
    """The contact's next version with ``link`` added, or replacing the same identity's in place.

    An identity linked again is no longer recorded as unlinked.
    """
    if contact.link_for(link.identity) is None:
        links = (*contact.links, link)
    else:
        links = tuple(link if old.identity == link.identity else old for old in contact.links)
    return contact.model_copy(
        update={
            "links": links,
            "unlinked": contact.without_unlinked(link.identity),
            "version": contact.version + 1,
        }
    )


def link_event(contact: Contact, link: Link, *, handoff_id: str | None = None) -> Event:
    """The audit event for a new link (identity redacted)."""
    return contact_event(
        contact,
        "contact.linked",
        link.at,
        link.actor,
        handoff_id=handoff_id,
        identity=link.identity,
        source=link.source.value,
        verified=link.verified,
        confidence=link.confidence,
    )


LinkEvidence = LinkSource | str
"""The provenance a caller states for a link: a ``LinkSource`` or its value."""


def link_source(evidence: LinkEvidence) -> LinkSource:
    """The ``LinkSource`` a caller stated; ``verified`` is earned, never stated."""
    try:
        source = LinkSource(evidence)
    except ValueError:
        choices = [s.value for s in LinkSource if s is not LinkSource.VERIFIED]
        raise InvalidInput(f"unknown link source {evidence!r}; use one of {choices}") from None
    if source is LinkSource.VERIFIED:
        raise InvalidInput("verified links come only from confirm_code() or confirm_link()")
    return source


def author_contact(
    contact: Contact | None, tenant: str, identity: Identity, at: datetime
) -> tuple[Contact, Event | None]:
    """``ContactBook.link_for_author`` for the author's current ``contact`` (if any)."""
    if contact is None:
        link = Link(identity=identity, source=LinkSource.PROVIDER_ATTESTED, at=at)
        created = new_contact(tenant, link)
        return created, link_event(created, link)
    existing = contact.link_for(identity)
    renamed = None if existing is None else with_new_handle(contact, existing, identity, at)
    return (contact, None) if renamed is None else renamed


def stated_link(
    identity: Identity, evidence: LinkEvidence, confidence: float, actor: str, at: datetime
) -> Link:
    """A link as a caller states it, checked (``verified`` is earned, never stated)."""
    if not isinstance(identity, Identity):
        raise InvalidInput("expected an Identity")
    if not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
        raise InvalidInput("confidence must be between 0 and 1")
    return Link(
        identity=identity, source=link_source(evidence), confidence=confidence, at=at, actor=actor
    )


def with_new_handle(
    contact: Contact, existing: Link, identity: Identity, at: datetime, actor: str = "system"
) -> tuple[Contact, Event] | None:
    """The contact with ``existing``'s display handle changed to ``identity``'s, if it did."""
    if not identity.handle or existing.identity.handle == identity.handle:
        return None
    updated = with_link(contact, existing.model_copy(update={"identity": identity}))
    # Not the handle itself: it names the person, erasure takes it off the contact
    # and the threads, and audit events are never erased.
    event = contact_event(updated, "contact.handle_changed", at, actor, identity=identity)
    return updated, event
