"""Making a link: the contact's next version holding it, and the audit event for it.

``ContactBook.link``, a case's ``contact_provided`` and a verification link an
identity for a contact that may have been merged into another since: the link
goes to the live contact, remembering the one it was made for (``Link.origin``),
so that undoing the merge gives it back to that contact and its cases.
``made_for`` is the one place that decides it, for all three.
"""

from __future__ import annotations

from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact, Link
from escalate.identity._merge import contact_event

__all__ = ["link_event", "made_for", "new_contact", "with_link"]


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
