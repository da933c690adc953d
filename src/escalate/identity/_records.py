"""Stored records of identity work: merges (to undo them), merge proposals, verifications.

All are frozen pydantic models written through ``store.commit(Changes(...))`` in the
same transaction as the contacts they concern and the audit events that explain them.
They are ``Model``s: bad input to a constructor raises ``InvalidInput`` (a verb given
a bad ``actor`` or identity refuses it typed, before anything is written), and their
validation errors never quote the data read (``hide_input_in_errors``): it holds addresses.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from escalate._enum import StrEnum
from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime
from escalate.identity._contact import Contact

__all__ = [
    "MergeProposal",
    "MergeRecord",
    "ProposalStatus",
    "VerificationChallenge",
    "VerificationRecord",
]


class MergeRecord(Model):
    """One merge: who survived, who became a tombstone, and both as they were before.

    ``survivor_before`` and ``absorbed_before`` are full snapshots, so ``unmerge``
    can give each contact back exactly the identities it held. Erasing a person
    takes their addresses out of every snapshot holding them (and everything out
    of their own contacts' snapshots): an undo gives them back nothing. While this
    merge is active, undoing an older merge into its absorbed contact (or into one
    merged into it) takes what goes back to that merge's absorbed contact out of
    ``absorbed_before``: somebody else's, an undo of this one gives it nothing.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    id: str
    tenant: str = DEFAULT_TENANT
    survivor_id: str
    absorbed_id: str
    reason: str
    actor: str = "system"
    at: AwareDatetime
    survivor_before: Contact
    absorbed_before: Contact
    undone_at: AwareDatetime | None = None
    undone_by: str | None = None

    @property
    def is_active(self) -> bool:
        """True until the merge is undone."""
        return self.undone_at is None

    def __repr__(self) -> str:
        return (
            f"MergeRecord(id={self.id!r}, survivor_id={self.survivor_id!r}, "
            f"absorbed_id={self.absorbed_id!r}, active={self.is_active})"
        )


class ProposalStatus(StrEnum):
    """Where a merge proposal stands."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class MergeProposal(Model):
    """A suggested merge waiting for a human: never applied without ``accept_proposal``.

    Attributes:
        contact_ids: the two contacts, sorted (so a pair has one spelling).
        identity: the identity both claim (redacted in ``repr``); ``None`` once
            the person it named was erased (an open proposal is then rejected).
        reason: why it was proposed, e.g. ``"identity_claimed_unverified"``.
        merge_id: the merge that accepting it made.
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    id: str
    tenant: str = DEFAULT_TENANT
    contact_ids: tuple[str, str]
    identity: Identity | None
    reason: str
    status: ProposalStatus = ProposalStatus.OPEN
    created_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    decided_by: str | None = None
    merge_id: str | None = None


class VerificationRecord(Model):
    """A stored verification challenge. The code is kept only as a salted hash.

    ``version`` increases with every attempt, so two concurrent attempts on one
    code cannot both succeed: the store refuses the second (``ConcurrentUpdate``).
    ``identity`` is ``None`` once the address's person was erased: the challenge
    then confirms nothing (``VerificationFailed("erased")``).
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    id: str
    tenant: str = DEFAULT_TENANT
    contact_id: str
    identity: Identity | None
    salt: str
    code_hash: str
    created_at: AwareDatetime
    expires_at: AwareDatetime
    attempts: int = 0
    max_attempts: int = Field(default=5, ge=1)
    used_at: AwareDatetime | None = None
    actor: str = "system"
    version: int = 1

    def __repr__(self) -> str:
        return (
            f"VerificationRecord(id={self.id!r}, contact_id={self.contact_id!r}, "
            f"identity={self.identity!r}, attempts={self.attempts}, "
            f"used={self.used_at is not None})"
        )


class VerificationChallenge(Model):
    """What ``start_verification`` hands the caller to deliver; the only place the code is clear.

    Attributes:
        id: the challenge id, passed back to ``confirm_code``.
        contact_id: the contact the identity will be verified for (one merged away
            is verified on its survivor, for it: an unmerge gives it the address).
        identity: the address the code must be sent to.
        code: the one-time code to send (e.g. in an SMS or email).
        expires_at: after this the code and link are refused.
        link_token: a signed token for a confirm link (``None`` without a secret).
    """

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    id: str
    contact_id: str
    identity: Identity
    code: str = Field(repr=False)
    expires_at: AwareDatetime
    link_token: str | None = Field(default=None, repr=False)

    def confirm_url(self, base_url: str) -> str:
        """``base_url`` with the signed token appended as ``?token=`` (or ``&token=``).

        Raises:
            ValueError: the book that issued this challenge has no signing secret.
        """
        if self.link_token is None:
            raise InvalidInput("confirm links need ContactBook(secret=...)")
        separator = "&" if "?" in base_url else "?"
        return f"{base_url}{separator}token={self.link_token}"
