"""``Contact``: a person, as the set of identities linked to them, each with provenance."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ConfigDict, Field

from escalate._enum import StrEnum
from escalate._identity import Identity
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime

__all__ = ["Contact", "Link", "LinkSource", "Unlinked", "unlinked_except"]


class LinkSource(StrEnum):
    """Where the knowledge that an identity belongs to a contact came from."""

    CUSTOMER_PROVIDED = "customer_provided"
    AGENT_ENTERED = "agent_entered"
    EXTRACTED = "extracted"
    CRM_IMPORT = "crm_import"
    PROVIDER_ATTESTED = "provider_attested"
    VERIFIED = "verified"


class Link(Model):
    """One identity of a contact, with the evidence for it (its provenance).

    Attributes:
        identity: the address; a social one carries the current display handle.
        source: how we learnt that the identity belongs to the contact.
        verified: True only after a one-time code or a signed confirm link succeeded.
        confidence: how sure the source is, 0..1 (an extracted number is less sure
            than one the customer typed into a form).
        at: when the link was made (or last changed, e.g. verified).
        actor: who made it (``"customer"``, an agent id, ``"system"``).
        verified_at: when verification succeeded.
        origin: the contact id the caller linked to, when that contact had been
            merged into this one; undoing that merge gives the link back to it.
    """

    model_config = ConfigDict(frozen=True)

    identity: Identity
    source: LinkSource
    verified: bool = False
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    at: AwareDatetime
    actor: str = "system"
    verified_at: AwareDatetime | None = None
    origin: str | None = None


class Unlinked(Model):
    """An address taken away from a contact: its cases send nothing more there.

    ``unlink`` takes one ("this isn't me"); ``unmerge`` takes from each side the
    phones and emails that go to the other (``merge_id`` set). The contact keeps
    the record until the address is linked to it again (or, for an unmerge's,
    until a merge gives it the address again; or the contact, or the person the
    address belongs to, is erased), so that the engine can tell an address taken
    away from a contact from one the contact never held, such as a number another
    contact holds that a case was given anyway, pending an agent's merge decision.

    Attributes:
        identity: the phone number or email removed.
        at: when it was removed.
        actor: who removed it.
        origin: the contact id whose cases the record is for, when that contact
            had been merged into this one; undoing that merge gives the record
            back to it.
        merge_id: the merge whose undo took the address (to the other side);
            ``None`` when ``unlink`` did.
    """

    model_config = ConfigDict(frozen=True)

    identity: Identity
    at: AwareDatetime
    actor: str = "system"
    origin: str | None = None
    merge_id: str | None = None


def unlinked_except(
    unlinked: Iterable[Unlinked], identities: Iterable[Identity], *, unmerges_only: bool = False
) -> tuple[Unlinked, ...]:
    """``unlinked`` less its records of ``identities`` (with ``unmerges_only``, its unmerges').

    The one way a record leaves a contact (erasure aside): the contact holds the
    address again. A ``link``, a verification, an unmerge giving it back void any
    record of it; a merge bringing it back voids an unmerge's (an unlink's lies
    dormant, for an undo of that merge to bring back: ``Contact.unlinked_for``).
    """
    held = {identity.key for identity in identities}
    if not held:
        return tuple(unlinked)
    return tuple(
        gone
        for gone in unlinked
        if gone.identity.key not in held or (unmerges_only and gone.merge_id is None)
    )


class Contact(Model):
    """A person in one tenant. A merged-away contact is a tombstone with ``merged_into`` set.

    ``version`` increases with every committed change (optimistic concurrency).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    links: tuple[Link, ...] = ()
    created_at: AwareDatetime
    merged_into: str | None = None
    version: int = 1
    #: The person's known IANA time zone; quiet hours use it over the number's.
    time_zone: str | None = None
    #: Phones and emails ``unlink`` (or an ``unmerge``) removed, until linked to it again
    #: (see ``Unlinked``).
    unlinked: tuple[Unlinked, ...] = ()

    @property
    def identities(self) -> tuple[Identity, ...]:
        """The linked identities, in link order."""
        return tuple(link.identity for link in self.links)

    @property
    def is_tombstone(self) -> bool:
        """True when this contact was merged into another."""
        return self.merged_into is not None

    def link_for(self, identity: Identity) -> Link | None:
        """The link holding ``identity``, if this contact has it."""
        return next((link for link in self.links if link.identity == identity), None)

    def unlinked_for(self, identity: Identity) -> Unlinked | None:
        """The record of ``identity``'s removal from this contact, if it was unlinked
        and the contact does not hold it now.

        A merge can bring an identity the survivor had unlinked back to it, with
        the contact it was linked to: its record then lies dormant, and undoing
        the merge (which takes the identity away again) gives it back its effect.
        """
        if not self.unlinked or self.link_for(identity) is not None:
            return None
        return next((gone for gone in self.unlinked if gone.identity == identity), None)

    def without_unlinked(self, identity: Identity) -> tuple[Unlinked, ...]:
        """``unlinked`` less ``identity``'s record: what it is once the identity is linked again."""
        return unlinked_except(self.unlinked, (identity,))

    def __repr__(self) -> str:
        return f"Contact(id={self.id!r}, tenant={self.tenant!r}, identities={self.identities!r})"
