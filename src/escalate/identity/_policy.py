"""The auto-linking policy: what to do when an identity arrives for a contact.

A policy is a small callable taking one ``LinkSituation`` and returning a
``LinkAction``. The default never merges silently: only an exact match of an
identity verified on both sides merges by itself; anything else is linked when
free, or proposed to a human when another contact holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from escalate._enum import StrEnum
from escalate._identity import Identity
from escalate.identity._contact import Contact

__all__ = ["LinkAction", "LinkPolicy", "LinkSituation", "default_link_policy"]


class LinkAction(StrEnum):
    """What the policy decided."""

    LINK = "link"  # the identity is free: link it to the contact
    NOTHING = "nothing"  # the contact already holds it
    MERGE = "merge"  # both sides proved control of it: merge the two contacts
    PROPOSE = "propose"  # another contact holds it: ask a human


@dataclass(frozen=True)
class LinkSituation:
    """Everything the policy may look at.

    Attributes:
        identity: the identity that arrived (normalized, so any match is exact).
        contact: the live contact it arrived for.
        owner: the live contact that already holds it in this tenant, if any
            (at most one: the store keeps identities unique per tenant).
        claim_verified: True when the arrival itself is a successful verification.
    """

    identity: Identity
    contact: Contact
    owner: Contact | None
    claim_verified: bool = False


LinkPolicy = Callable[[LinkSituation], LinkAction]
"""A callable deciding a ``LinkSituation``; pass your own as ``ContactBook(policy=...)``."""


def default_link_policy(situation: LinkSituation) -> LinkAction:
    """Link when free; merge only a verified-on-both-sides exact, unique match; else propose."""
    owner = situation.owner
    if owner is None:
        return LinkAction.LINK
    if owner.id == situation.contact.id:
        return LinkAction.NOTHING
    held = owner.link_for(situation.identity)
    if situation.claim_verified and held is not None and held.verified:
        return LinkAction.MERGE
    return LinkAction.PROPOSE
