"""``ContactBook``: the contacts API a caller holds as ``esc.contacts``.

Every verb reads, checks (tenant, tombstone, ownership), then writes the new
contact versions and their audit events in one ``store.commit``; a refused verb
raises a typed error before anything is written. Verification lives in
``_verifying.py`` (functions the book's verification verbs call).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from escalate._clock import Clock
from escalate._enum import member_of
from escalate._exceptions import (
    ContactMerged,
    CrossTenantError,
    IdentityTaken,
    InvalidInput,
    NotFound,
)
from escalate._identity import Identity, IdentityKind
from escalate._models import Event
from escalate.identity._contact import Contact, Unlinked
from escalate.identity._linking import (
    LinkEvidence,
    author_contact,
    link_event,
    made_for,
    new_contact,
    stated_link,
    with_link,
    with_new_handle,
)
from escalate.identity._merge import contact_event, merge_changes, survivor_of
from escalate.identity._policy import LinkPolicy, default_link_policy
from escalate.identity._proposals import accept_proposal, propose, reject_proposal
from escalate.identity._records import (
    MergeProposal,
    MergeRecord,
    ProposalStatus,
    VerificationChallenge,
)
from escalate.identity._unmerge import unmerge
from escalate.identity._verify import VerificationPolicy
from escalate.identity._verifying import confirm_code, confirm_link, start_verification
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = ["ContactBook", "LinkEvidence"]


class ContactBook:
    """Contacts of one tenant: resolve, link, unlink, merge, unmerge, proposals, verification.

    Args:
        store: where contacts live.
        tenant: the only tenant this book reads or writes.
        clock: the time source.
        secret: key for signed confirm links (``None``: codes only).
        policy: the auto-linking policy (default: ``default_link_policy``).
        verification: code length, expiry and rate limits.
    """

    def __init__(
        self,
        store: Store,
        *,
        tenant: str,
        clock: Clock,
        secret: bytes | None = None,
        policy: LinkPolicy = default_link_policy,
        verification: VerificationPolicy | None = None,
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._clock = clock
        self._secret = secret
        self.policy = policy
        self.verification = verification or VerificationPolicy()

    # -- reading ----------------------------------------------------------------

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

    def live(self, contact: Contact | str) -> Contact:
        """The live contact ``contact`` is, or was merged into (following tombstones).

        Raises:
            NotFound: no such contact in this tenant.
            CrossTenantError: a ``Contact`` of another tenant.
        """
        start = self._load(contact)
        live = survivor_of(self._store, start)
        if live is None:
            raise NotFound(f"contact {start.id!r} was merged into a contact that is gone")
        return live

    def get_merge(self, merge_id: str) -> MergeRecord:
        """A merge record by id. Raises ``NotFound``."""
        record = self._store.get_merge(self._tenant, merge_id)
        if record is None:
            raise NotFound(f"no merge {merge_id!r} in tenant {self._tenant!r}")
        return record

    def proposals(
        self, status: ProposalStatus | str | None = ProposalStatus.OPEN
    ) -> list[MergeProposal]:
        """Merge proposals waiting for a human (or all with ``status=None``), oldest first."""
        wanted = None if status is None else member_of(ProposalStatus, status, "status").value
        return self._store.merge_proposals(self._tenant, status=wanted)

    # -- linking ----------------------------------------------------------------

    def create(
        self,
        identity: Identity,
        evidence: LinkEvidence,
        *,
        confidence: float = 1.0,
        actor: str = "api",
    ) -> Contact:
        """A new contact holding ``identity``.

        Raises:
            IdentityTaken: another contact holds it.
        """
        owner = self.resolve(identity)
        if owner is not None:
            raise IdentityTaken(owner.id)
        link = stated_link(identity, evidence, confidence, actor, self._clock.now())
        contact = new_contact(self._tenant, link)
        self._store.commit(Changes(contacts=(contact,), events=(link_event(contact, link),)))
        return contact

    def link(
        self,
        contact: Contact | str,
        identity: Identity,
        evidence: LinkEvidence,
        *,
        confidence: float = 1.0,
        actor: str = "api",
    ) -> Contact:
        """Link ``identity`` to ``contact`` with its provenance; returns the contact after.

        Linking to a merged-away contact links to its survivor, remembering the
        contact it was meant for, so undoing the merge gives it back. Linking an
        identity the contact already holds changes only a social display handle.

        Raises:
            NotFound / CrossTenantError: the contact is unknown or of another tenant.
            IdentityTaken: another live contact holds the identity (use ``merge``).
            InvalidInput: unknown source, ``"verified"`` as a source, bad confidence.
        """
        target = self._load(contact)
        live = self.live(target)
        stated = stated_link(identity, evidence, confidence, actor, self._clock.now())
        link = made_for(stated, live, target.id)
        owner = self.resolve(identity)
        if owner is not None and owner.id != live.id:
            raise IdentityTaken(owner.id)
        existing = live.link_for(identity)
        if existing is not None:  # held already: at most a new display handle
            renamed = with_new_handle(live, existing, identity, self._clock.now(), actor)
            if renamed is not None:
                self._store.commit(Changes(contacts=(renamed[0],), events=(renamed[1],)))
            return live if renamed is None else renamed[0]
        updated = with_link(live, link)
        self._store.commit(Changes(contacts=(updated,), events=(link_event(updated, link),)))
        return updated

    def unlink(self, contact: Contact | str, identity: Identity, *, actor: str = "api") -> Contact:
        """Remove ``identity`` from ``contact``; returns the contact after.

        A phone number or email removed is kept in ``Contact.unlinked`` until it
        is linked to the contact again: no message of the contact's cases goes
        to it any more, queued ones included (see ``docs/identity.md``).

        Raises:
            NotFound: the contact does not hold the identity (or does not exist).
            ContactMerged: the contact is a tombstone.
        """
        current = self._load(contact)
        if current.merged_into is not None:
            raise ContactMerged(current.id, current.merged_into)
        removed = current.link_for(identity) if isinstance(identity, Identity) else None
        if removed is None:
            raise NotFound("the contact does not hold this identity")
        now = self._clock.now()
        links = tuple(link for link in current.links if link.identity != identity)
        unlinked = current.unlinked
        if identity.kind is not IdentityKind.SOCIAL:  # no message goes to a social account
            gone = Unlinked(identity=identity, at=now, actor=actor, origin=removed.origin)
            unlinked = (*current.without_unlinked(identity), gone)
        updated = current.model_copy(
            update={"links": links, "unlinked": unlinked, "version": current.version + 1}
        )
        event = contact_event(updated, "contact.unlinked", now, actor, identity=identity)
        self._store.commit(Changes(contacts=(updated,), events=(event,)))
        return updated

    # -- merging ----------------------------------------------------------------

    def merge(
        self, a: Contact | str, b: Contact | str, reason: str, *, actor: str = "api"
    ) -> Contact:
        """Merge two live contacts; the older survives, the other becomes a tombstone.

        Returns the survivor; ``get_merge(...)``/the ``contact.merged`` event carry the
        merge id for ``unmerge``.

        Raises:
            CrossTenantError: either contact belongs to another tenant.
            ContactMerged: either is a tombstone.
            InvalidInput: the same contact twice, or an empty reason.
        """
        survivor, _ = self._merge(a, b, reason, actor)
        return survivor

    def merge_with_record(
        self, a: Contact | str, b: Contact | str, reason: str, *, actor: str = "api"
    ) -> tuple[Contact, MergeRecord]:
        """``merge``, also returning the merge record (whose ``id`` ``unmerge`` takes)."""
        return self._merge(a, b, reason, actor)

    def _merge(
        self, a: Contact | str, b: Contact | str, reason: str, actor: str
    ) -> tuple[Contact, MergeRecord]:
        if not isinstance(actor, str) or not actor.strip():
            raise InvalidInput("actor must name who merged (a non-empty string)")
        first, second = self._merge_pair(a, b, reason)
        survivor, record, changes = merge_changes(
            first, second, reason=reason, actor=actor, at=self._clock.now()
        )
        self._store.commit(changes)
        return survivor, record

    def _merge_pair(
        self, a: Contact | str, b: Contact | str, reason: str
    ) -> tuple[Contact, Contact]:
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("a merge needs a reason")
        first, second = self._load(a), self._load(b)
        if first.id == second.id:
            raise InvalidInput("cannot merge a contact with itself")
        for contact in (first, second):
            if contact.merged_into is not None:
                raise ContactMerged(contact.id, contact.merged_into)
        return first, second

    def unmerge(self, merge_id: str, *, actor: str = "api") -> tuple[Contact, Contact]:
        """Undo a merge: both contacts as they were, plus what was linked to each since.

        Works after later merges too (the identities come out of whatever now
        holds them). Returns ``(survivor side, restored contact)``. Each side's
        phones and emails are recorded as unlinked from the other
        (``Contact.unlinked``, ``Unlinked.merge_id``): its cases send nothing
        more to them, as after ``unlink``. The restored contact also keeps every
        record its cases were held to while merged (an unlink, an earlier
        unmerge's), so no later unmerge gives a contact back an address it lost.

        Raises:
            NotFound: no such merge in this tenant.
            UnmergeNotPossible: it was already undone.
        """
        return unmerge(self, merge_id, actor=actor)

    # -- proposals --------------------------------------------------------------

    def propose(
        self, a: Contact, b: Contact, identity: Identity, reason: str
    ) -> tuple[MergeProposal, Changes]:
        """A merge proposal for ``a`` and ``b`` (the open one if it exists) and its change.

        The caller commits the change (with whatever else belongs to it).

        Raises:
            NotFound / CrossTenantError: either contact is unknown or of another tenant.
        """
        return propose(self, self._load(a), self._load(b), identity, reason)

    def accept_proposal(self, proposal_id: str, *, actor: str = "agent") -> Contact:
        """Merge the proposal's contacts (a human said yes); returns the survivor.

        Raises:
            NotFound: no such proposal; InvalidInput: it is not open;
            ContactMerged: one side was merged elsewhere meanwhile.
        """
        return accept_proposal(self, proposal_id, actor=actor)

    def reject_proposal(self, proposal_id: str, *, actor: str = "agent") -> MergeProposal:
        """Record that a human said these are different people."""
        return reject_proposal(self, proposal_id, actor=actor)

    # -- verification -----------------------------------------------------------

    def start_verification(
        self, contact: Contact | str, identity: Identity, *, actor: str = "system"
    ) -> VerificationChallenge:
        """Issue a one-time code (and a signed link token) proving ``identity`` is the contact's.

        Deliver ``challenge.code`` (or ``challenge.confirm_url(base)``) to ``identity``
        yourself; escalate stores only a salted hash of it.

        Raises:
            InvalidInput: a social identity (verify a phone or email).
            RateLimited: the address got too many codes in the window.
        """
        return start_verification(self, contact, identity, actor=actor)

    def confirm_code(self, challenge_id: str, code: str, *, actor: str = "customer") -> Contact:
        """Check a one-time code; on success the link is marked verified.

        If another contact holds the identity, the policy decides: a verified link
        on both sides merges, anything else becomes a merge proposal.
        Returns the (live) contact the identity is verified for.

        Raises:
            VerificationFailed: wrong (the attempt is counted), expired, used, or
                too many attempts.
        """
        return confirm_code(self, challenge_id, code, actor=actor)

    def confirm_link(self, token: str, *, actor: str = "customer") -> Contact:
        """Check a signed confirm-link token; on success the link is marked verified.

        Raises:
            VerificationFailed: bad signature, unknown, expired or used.
        """
        return confirm_link(self, token, actor=actor)

    # -- the thread author ------------------------------------------------------

    def link_for_author(self, identity: Identity, at: datetime) -> tuple[Contact, Event | None]:
        """The contact of a thread's author, and the event to record when it changed.

        The platform attests who posted, so a new link is ``provider_attested``.
        A changed display handle updates the link, not the identity.
        """
        return author_contact(self.resolve(identity), self._tenant, identity, at)

    def set_time_zone(self, contact_id: str, zone: str | None, *, actor: str = "api") -> Contact:
        """Record the person's known IANA time zone (quiet hours use it over the number's).

        A contact merged into another is followed to it: the zone is set on the
        live contact quiet hours read (a tombstone's is read by nothing), and
        that contact is returned.

        Raises:
            NotFound: no such contact.
            InvalidInput: not an IANA zone name.
        """
        from escalate.consent._quiet_hours import zone_info  # noqa: PLC0415 - layering

        if zone is not None:
            zone_info(zone)
        contact = self.live(contact_id)
        updated = contact.model_copy(update={"time_zone": zone, "version": contact.version + 1})
        at = self._clock.now()
        event = contact_event(updated, "contact.time_zone_set", at, actor, time_zone=zone)
        self._store.commit(Changes(contacts=(updated,), events=(event,)))
        return updated

    # -- helpers ----------------------------------------------------------------

    def _load(self, contact: Contact | str) -> Contact:
        if isinstance(contact, Contact):
            if contact.tenant != self._tenant:
                raise CrossTenantError(
                    f"contact {contact.id!r} belongs to another tenant than {self._tenant!r}"
                )
            contact = contact.id
        if not isinstance(contact, str):
            raise InvalidInput("expected a Contact or a contact id")
        found = self._store.get_contact(self._tenant, contact)
        if found is None:
            raise NotFound(f"no contact {contact!r} in tenant {self._tenant!r}")
        return found

    def __repr__(self) -> str:
        return f"ContactBook(tenant={self._tenant!r}, store={self._store!r})"
