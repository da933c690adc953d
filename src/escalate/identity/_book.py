"""``ContactBook``: the contacts API a caller holds as ``esc.contacts``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from escalate._clock import Clock
from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact, Link, LinkSource

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = ["ContactBook", "link_event", "new_contact", "with_link"]


def new_contact(tenant: str, link: Link) -> Contact:
    """A new contact holding one link."""
    return Contact(id=new_id("ct"), tenant=tenant, links=(link,), created_at=link.at)


def with_link(contact: Contact, link: Link) -> Contact:
    """The contact's next version with ``link`` added (or replacing the same identity's)."""
    links = tuple(existing for existing in contact.links if existing.identity != link.identity)
    return contact.model_copy(update={"links": (*links, link), "version": contact.version + 1})


def link_event(contact: Contact, link: Link, *, handoff_id: str | None = None) -> Event:
    """The audit event for a new link (identity redacted)."""
    identity = link.identity
    return Event(
        id=new_id("ev"),
        tenant=contact.tenant,
        kind="contact.linked",
        at=link.at,
        contact_id=contact.id,
        handoff_id=handoff_id,
        actor=link.actor,
        data={
            "identity": str(identity),
            "source": link.source.value,
            "verified": link.verified,
        },
    )


class ContactBook:
    """Looks up contacts by identity, within one tenant."""

    def __init__(self, store: Store, *, tenant: str, clock: Clock) -> None:
        self._store = store
        self._tenant = tenant
        self._clock = clock

    def resolve(self, identity: Identity) -> Contact | None:
        """The live contact ``identity`` is linked to in this tenant, if any.

        Raises:
            InvalidInput: ``identity`` is not an ``Identity``.
        """
        if not isinstance(identity, Identity):
            raise InvalidInput("resolve() takes an Identity")
        return self._store.resolve_identity(self._tenant, identity)

    def get(self, contact_id: str) -> Contact | None:
        """A contact by id (a tombstone too), or ``None``."""
        return self._store.get_contact(self._tenant, contact_id)

    def link_for_author(self, identity: Identity, at: datetime) -> tuple[Contact, bool]:
        """The contact of a thread's author, creating it if new; True when it changed.

        The platform attests who posted, so the link is ``provider_attested``.
        A changed display handle updates the link, not the identity.
        """
        contact = self.resolve(identity)
        if contact is None:
            link = Link(identity=identity, source=LinkSource.PROVIDER_ATTESTED, at=at)
            return new_contact(self._tenant, link), True
        existing = contact.link_for(identity)
        if existing is not None and existing.identity.handle != identity.handle and identity.handle:
            return with_link(contact, existing.model_copy(update={"identity": identity})), True
        return contact, False
