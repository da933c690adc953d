"""The verification verbs of ``ContactBook``: issue a code, confirm a code or a link.

The crypto is in ``_verify.py``; here are the reads, the checks and the one commit
per verb. A successful confirmation writes, in one transaction: the used
challenge, the verified link (or the merge or proposal the policy chose) and the
audit events.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._exceptions import InvalidInput, RateLimited, VerificationFailed
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.identity._linking import made_for
from escalate.identity._merge import contact_event, merge_changes
from escalate.identity._policy import LinkAction, LinkSituation
from escalate.identity._records import VerificationChallenge, VerificationRecord
from escalate.identity._verify import code_hash, codes_match, new_code, sign, signature_ok
from escalate.store._changes import Changes, IssueLimit

if TYPE_CHECKING:
    from escalate.identity._book import ContactBook

__all__ = ["confirm_code", "confirm_link", "start_verification"]


def start_verification(
    book: ContactBook, contact: Contact | str, identity: Identity, *, actor: str
) -> VerificationChallenge:
    """See ``ContactBook.start_verification``."""
    if not isinstance(identity, Identity) or identity.kind is IdentityKind.SOCIAL:
        raise InvalidInput("verification takes a phone or email Identity")
    # Kept as given: a code confirmed after the contact was merged away (or for
    # one merged away already) links the address for it (see ``_verified``).
    given = book._load(contact)
    target = book.live(given)
    policy = book.verification
    now = book._clock.now()
    issued = book._store.count_verifications(book._tenant, identity, now - policy.window)
    if issued >= policy.max_per_window:
        raise RateLimited(
            f"this address already got {issued} codes in the last {policy.window}",
            retry_after=policy.window.total_seconds(),
        )
    code = new_code(policy.code_length)
    salt = secrets.token_hex(16)
    record = VerificationRecord(
        id=new_id("vc"),
        tenant=book._tenant,
        contact_id=given.id,
        identity=identity,
        salt=salt,
        code_hash=code_hash(code, salt),
        created_at=now,
        expires_at=now + policy.ttl,
        max_attempts=policy.max_attempts,
        actor=actor,
    )
    token = sign(book._secret, book._tenant, record.id, record.code_hash) if book._secret else None
    event = contact_event(
        target,
        "contact.verification_started",
        now,
        actor,
        identity=identity,
        challenge_id=record.id,
        expires_at=record.expires_at.isoformat(),
    )
    # Checked again in the commit: requests made at once all counted before any wrote.
    limit = IssueLimit(policy.max_per_window, now - policy.window, policy.window.total_seconds())
    book._store.commit(Changes(verifications=(record,), events=(event,), issue_limit=limit))
    return VerificationChallenge(
        id=record.id,
        contact_id=given.id,
        identity=identity,
        code=code,
        expires_at=record.expires_at,
        link_token=token,
    )


def confirm_code(book: ContactBook, challenge_id: str, code: str, *, actor: str) -> Contact:
    """See ``ContactBook.confirm_code``."""
    if not isinstance(challenge_id, str) or not isinstance(code, str):
        raise InvalidInput("confirm_code() takes a challenge id and a code, both strings")
    record = book._store.get_verification(book._tenant, challenge_id)
    if record is None:
        raise VerificationFailed("unknown")
    identity = _check_usable(book, record)
    if not codes_match(code.strip(), record.salt, record.code_hash):
        failed = record.model_copy(
            update={"attempts": record.attempts + 1, "version": record.version + 1}
        )
        contact = book.live(record.contact_id)
        event = contact_event(
            contact,
            "contact.verification_failed",
            book._clock.now(),
            actor,
            identity=identity,
            challenge_id=record.id,
            attempts=failed.attempts,
        )
        # The one refusal that writes: a wrong guess must count against the limit.
        book._store.commit(Changes(verifications=(failed,), events=(event,)))
        raise VerificationFailed("wrong_code")
    return _complete(book, record, identity, method="code", actor=actor)


def confirm_link(book: ContactBook, token: str, *, actor: str) -> Contact:
    """See ``ContactBook.confirm_link``."""
    if book._secret is None or not isinstance(token, str) or "." not in token:
        raise VerificationFailed("bad_signature")
    record = book._store.get_verification(book._tenant, token.partition(".")[0])
    # An unknown id and a bad MAC look the same to the caller: no oracle for ids.
    if record is None or not signature_ok(book._secret, book._tenant, token, record.code_hash):
        raise VerificationFailed("bad_signature")
    identity = _check_usable(book, record)
    return _complete(book, record, identity, method="link", actor=actor)


def _check_usable(book: ContactBook, record: VerificationRecord) -> Identity:
    """The challenge's address, if it may still be confirmed."""
    if record.identity is None:
        # Its person was erased: confirming it would link their address again.
        raise VerificationFailed("erased")
    if record.used_at is not None:
        raise VerificationFailed("used")
    if book._clock.now() >= record.expires_at:
        raise VerificationFailed("expired")
    if record.attempts >= record.max_attempts:
        raise VerificationFailed("too_many_attempts")
    return record.identity


def _verified(
    contact: Contact, identity: Identity, actor: str, at: datetime, *, for_id: str
) -> Contact:
    """``contact`` with ``identity``'s link marked verified (added, for ``for_id``, when missing).

    ``for_id`` is the contact the verification was for: ``contact`` itself or one
    merged into it, which an unmerge gives the address back to.
    """
    existing = contact.link_for(identity)
    if existing is None:
        link = Link(
            identity=identity,
            source=LinkSource.VERIFIED,
            verified=True,
            at=at,
            actor=actor,
            verified_at=at,
        )
        link = made_for(link, contact, for_id)
        links = (*contact.links, link)
    else:
        link = existing.model_copy(update={"verified": True, "verified_at": at})
        links = tuple(link if old.identity == identity else old for old in contact.links)
    return contact.model_copy(
        update={"links": links, "unlinked": contact.without_unlinked(identity)}
    )


def _complete(
    book: ContactBook, record: VerificationRecord, identity: Identity, *, method: str, actor: str
) -> Contact:
    now = book._clock.now()
    contact = book.live(record.contact_id)
    owner = book.resolve(identity)
    used = record.model_copy(
        update={"used_at": now, "attempts": record.attempts + 1, "version": record.version + 1}
    )
    action = book.policy(LinkSituation(identity, contact, owner, claim_verified=True))
    taken = owner is not None and owner.id != contact.id
    if taken and action is LinkAction.MERGE:
        assert owner is not None
        survivor, merge, changes = merge_changes(
            contact, owner, reason="verified_on_both_sides", actor=actor, at=now
        )
        survivor = _verified(survivor, identity, actor, now, for_id=record.contact_id)
        event = contact_event(
            survivor,
            "contact.verified",
            now,
            actor,
            identity=identity,
            method=method,
            challenge_id=record.id,
            merge_id=merge.id,
        )
        book._store.commit(
            Changes(
                contacts=(survivor, *changes.contacts[1:]),
                merges=changes.merges,
                verifications=(used,),
                events=(*changes.events, event),
            )
        )
        return survivor
    if taken:
        assert owner is not None
        # Never merge silently: the other contact's link is not verified (or the
        # policy said so); a human decides.
        proposal, proposed = book.propose(contact, owner, identity, "verified_claim_conflicts")
        event = contact_event(
            contact,
            "contact.verified",
            now,
            actor,
            identity=identity,
            method=method,
            challenge_id=record.id,
            proposal_id=proposal.id,
        )
        book._store.commit(
            Changes(
                verifications=(used,),
                merge_proposals=proposed.merge_proposals,
                events=(*proposed.events, event),
            )
        )
        return contact
    updated = _verified(contact, identity, actor, now, for_id=record.contact_id)
    updated = updated.model_copy(update={"version": contact.version + 1})
    event = contact_event(
        updated,
        "contact.verified",
        now,
        actor,
        identity=identity,
        method=method,
        challenge_id=record.id,
    )
    book._store.commit(Changes(contacts=(updated,), verifications=(used,), events=(event,)))
    return updated
