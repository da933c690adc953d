"""Who a queued send reaches: the contact holding its address, read once per send.

Two checks of the send path need that contact: whether a case may still use the
address (an address unlinked from the case's contact is not texted about the
case any more) and the contact's known time zone (for quiet hours). One read
serves both; a send that needs neither reads nothing.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Literal

from escalate.consent._policy import is_keyword_answer
from escalate.identity._contact import Contact
from escalate.identity._merge import unlinked_from

if TYPE_CHECKING:
    from escalate._models import Handoff
    from escalate.consent._policy import ConsentPolicy
    from escalate.store._protocol import OutboxItem, Store
    from escalate.workflow._commands import SendMessage

__all__ = [
    "ADDRESS_UNLINKED",
    "UNREAD",
    "Owner",
    "address_unlinked",
    "quiet_hours_apply",
    "read_owner",
]

#: Why a case's send was cancelled, and the ``SendFailed`` reason its workflow is
#: fed: its address was unlinked from the case's contact.
ADDRESS_UNLINKED = "address_unlinked"


class _Unread(Enum):
    UNREAD = "unread"


#: The address's contact was not read (``None`` means read: nobody holds the address).
UNREAD = _Unread.UNREAD
Owner = Contact | None | Literal[_Unread.UNREAD]


def quiet_hours_apply(policy: ConsentPolicy, command: SendMessage) -> bool:
    """Whether quiet hours can hold this send back (its purpose and channel have them)."""
    hours = policy.quiet_hours.get(command.purpose)
    return hours is not None and command.channel in policy.quiet_hours_channels


def _case_contact(handoff: Handoff | None, command: SendMessage) -> str | None:
    """The case's contact, when the send speaks for its case to it.

    None for a keyword answer (HELP, a STOP's confirmation): it belongs to the
    address that wrote, whoever it is linked to.
    """
    if handoff is None or is_keyword_answer(command):
        return None
    return handoff.contact_id


def read_owner(
    store: Store,
    policy: ConsentPolicy,
    item: OutboxItem,
    handoff: Handoff | None,
    command: SendMessage,
) -> Owner:
    """The live contact holding the send's address, if a check of this send needs it."""
    if _case_contact(handoff, command) is not None or quiet_hours_apply(policy, command):
        return store.resolve_identity(item.tenant, command.to)
    return UNREAD


def address_unlinked(
    store: Store, item: OutboxItem, handoff: Handoff | None, command: SendMessage, owner: Owner
) -> bool:
    """Whether the send's address was unlinked from its case's contact (merges followed).

    Only an unlink counts, or an unmerge (which unlinks from each side the
    addresses that went to the other): an address the contact never held, alone
    or merged (a number another contact holds, given to the case and left to an
    agent as a merge proposal), is still the case's to use. In the usual case,
    the address's contact is the case's, and nothing is read beyond ``owner``.
    """
    contact_id = _case_contact(handoff, command)
    if contact_id is None:
        return False
    if owner is UNREAD:  # pragma: no cover - read_owner reads it for every such send
        owner = store.resolve_identity(item.tenant, command.to)
    return unlinked_from(store, item.tenant, contact_id, command.to, owner)
