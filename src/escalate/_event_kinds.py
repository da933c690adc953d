"""``EVENT_KINDS``: every audit event kind escalate writes, with what it records.

One list, so a test kit filter can tell a misspelt kind (``"mesage.sent"``) from
one that simply did not happen, and so the docs have one place to point at.
``tests/test_event_kinds.py`` proves it complete: every kind-shaped string in the
source is either listed here or is a template name, and a run of the main flows
writes no kind missing from it.

Applications may write their own events to the store; those kinds are theirs and
are not listed (``capture_events(own_kinds=...)`` accepts them).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["EVENT_KINDS"]

EVENT_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # handoffs and their inputs
        "handoff.opened": "a public post was escalated (or re-escalated)",
        "handoff.transition": "a handoff changed state, with the input and the reason",
        "input.ignored": "an input the handoff's state does not accept, recorded and dropped",
        "timer.held": "a due timer not fired: a record it needs (or its row) is unreadable",
        "timer.released": "an operator released a held timer: due again",
        "reply.received": "an inbound message reached a handoff",
        "reply.unverified": "an email reply from a sender that could not be verified, held",
        "identity.shared_publicly": "the public post itself held a phone number or email",
        "identity.conflict": "the address a customer gave belongs to another contact",
        # private sends (outbox rows)
        "message.sent": "the provider accepted a private message",
        "message.status": "a delivery report that did not settle the row",
        "message.undelivered": "a delivery report: the message was not delivered",
        "message.deferred": "a send waits for the end of quiet hours",
        "message.paced": "a send waits for its slot under a rate limit",
        "message.retry_scheduled": "a retryable failure: the send is tried again later",
        "message.held": "an unknown outcome (or a record it needs unreadable): held, never resent",
        "message.released": "an operator released a held send to be tried again",
        "message.refused": "a send refused before the provider: no consent, or revoked",
        "message.failed": "a send failed for good",
        "message.cancelled": "a pending send was cancelled (the handoff closed, or STOP)",
        # public replies and the helpdesk
        "public_reply.posted": "the public reply was posted (later_text: after its valid_until)",
        "public_reply.held": "the public reply's outcome is unknown: held",
        "public_reply.failed": "the public reply failed for good",
        "notify.sent": "the helpdesk was notified (data: topic)",
        # consent
        "consent.recorded": "a consent grant or revoke was recorded",
        "consent.opt_out_unverified": "an opt-out from a sender that could not be verified",
        "consent.review_requested": "a message that may revoke consent, flagged for review",
        "consent.opt_in_confirmed": "a YES confirmed a pending double opt-in",
        "consent.opt_in_not_accepted": "a START from an email sender, who cannot vouch for it",
        "consent.help_requested": "a HELP or INFO keyword (answered with the help text)",
        "consent.help_not_answered": "a HELP or INFO keyword not answered (after a STOP)",
        # contacts
        "contact.linked": "an identity was linked to a contact",
        "contact.unlinked": "an identity was unlinked from a contact",
        "contact.handle_changed": "a social identity's handle changed",
        "contact.time_zone_set": "a contact's time zone was set",
        "contact.merged": "a contact absorbed another",
        "contact.merged_away": "a contact was merged into another (a tombstone)",
        "contact.unmerged": "a merge was undone, on the surviving contact",
        "contact.restored": "a merge was undone, on the contact brought back",
        "contact.merge_proposed": "a possible merge was proposed for a human to decide",
        "contact.proposal_rejected": "a proposed merge was rejected",
        "contact.verification_started": "a one-time code or confirm link was sent",
        "contact.verification_failed": "a verification attempt failed",
        "contact.verified": "an identity was verified",
        "contact.erased": "a contact's personal data was erased",
    }
)
