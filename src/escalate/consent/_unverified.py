"""An email opt-out nobody vouched for: held for a person instead of honoured.

An email's From address is whatever its sender typed. Honoured as it comes, a
STOP "from" a customer's address would let anyone revoke their consent and
decline their open cases. When the receiving side checked and could not
authenticate the sender (``InboundMessage.sender_authenticated is False``) and
the policy says ``review``, the revocation ``plan_reply`` planned is replaced:
nothing is revoked (so no case is declined) and nothing goes to the address; each
open case on it records a ``consent.opt_out_unverified`` event and tells the
helpdesk (an ``unverified_opt_out`` ``Notify`` through the outbox, as a
free-text review does), so a person confirms with the customer. The message
is no reply either: one we cannot attribute to the customer must not answer
their case (stop its reminder, reset its abandonment) nor be relayed as their
words, so ``Escalator.inbound`` feeds it to no workflow.

A reply to a case's signed reply-to address is vouched for: that token was only
ever mailed to the case's address, so its sender reads that mailbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from escalate._ids import new_id
from escalate._messages import InboundMessage
from escalate._models import Channel, Event, Handoff
from escalate._redact import redact_address
from escalate.consent._inbound import ReplyPlan
from escalate.consent._policy import ConsentPolicy
from escalate.store._protocol import OutboxItem
from escalate.workflow._commands import Notify
from escalate.workflow._events import handoff_event

__all__ = ["held_cases", "hold_unverified_opt_out", "opt_out_unverified"]


def opt_out_unverified(
    message: InboundMessage, policy: ConsentPolicy, *, signed: Handoff | None
) -> bool:
    """Whether an opt-out in ``message`` is held for a person rather than honoured.

    ``signed``: the handoff the message's signed reply-to address names, if any.
    """
    if message.channel is not Channel.EMAIL or message.sender_authenticated is not False:
        return False  # None (unknown) keeps the opt-out honoured, as before the check existed
    if policy.unauthenticated_email_opt_out == "honour":
        return False
    return signed is None or signed.address != message.sender


def held_cases(message: InboundMessage, handoffs: Sequence[Handoff]) -> list[Handoff]:
    """Of ``handoffs`` (in routing order), the open cases on the message's address, once each."""
    held: dict[str, Handoff] = {}
    for handoff in handoffs:
        if handoff.address == message.sender and handoff.is_open:
            held.setdefault(handoff.id, handoff)
    return list(held.values())


def hold_unverified_opt_out(
    plan: ReplyPlan,
    message: InboundMessage,
    handoffs: Sequence[Handoff],
    *,
    tenant: str,
    now: datetime,
) -> ReplyPlan:
    """``plan``'s revocation replaced by an audit event and a helpdesk notice per open case.

    ``handoffs``: the sender's open cases; those on the message's address are told.
    """
    address = redact_address(message.sender.kind.value, message.sender.value)
    key = message.provider_message_id or new_id("in")
    events = []
    outbox = []
    for handoff in held_cases(message, handoffs):
        events.append(
            handoff_event(
                handoff,
                "consent.opt_out_unverified",
                now,
                "customer",
                address=address,
                channel=message.channel.value,
                rule=plan.classification.rule,
                provider_message_id=message.provider_message_id,
            )
        )
        text = (
            f"case {handoff.reference}: an email opt-out whose sender could not be "
            "authenticated; consent is kept and the case stays open until a person "
            "confirms with the customer"
        )
        outbox.append(
            OutboxItem(
                id=new_id("ob"),
                tenant=tenant,
                handoff_id=handoff.id,
                idempotency_key=f"consent:unverified_opt_out:{key}:{handoff.id}",
                command=Notify(topic="unverified_opt_out", text=text),
                due_at=now,
                created_at=now,
            )
        )
    if not events:  # no open case to tell: the attempt is still on the record
        events.append(
            Event(
                id=new_id("ev"),
                tenant=tenant,
                kind="consent.opt_out_unverified",
                at=now,
                actor="customer",
                data={
                    "address": address,
                    "channel": message.channel.value,
                    "rule": plan.classification.rule,
                    "provider_message_id": message.provider_message_id,
                },
            )
        )
    return ReplyPlan(plan.classification, events=tuple(events), outbox=tuple(outbox))
