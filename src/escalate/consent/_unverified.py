"""Email nobody vouched for: an opt-out or a reply held for a person instead of acted on.

An email's From address is whatever its sender typed. Honoured as it comes, a
STOP "from" a customer's address would let anyone revoke their consent and
decline their open cases; a plain reply "from" them ("all sorted, thanks")
would cancel the reminder the real customer was owed. When the receiving side
checked and could not authenticate the sender (``InboundMessage.sender_authenticated
is False``) and the policy says ``review`` (``unauthenticated_email_opt_out``,
``unauthenticated_email_reply``), what ``plan_reply`` planned is replaced:
nothing is revoked (so no case is declined) and nothing goes to the address; each
open case on it records a ``consent.opt_out_unverified`` (or ``reply.unverified``)
event and tells the helpdesk (an ``unverified_opt_out`` or ``unverified_reply``
``Notify`` through the outbox, as a free-text review does), so a person
confirms with the customer. The message is no reply either: one we cannot
attribute to the customer must not answer their case (stop its reminder, reset
its abandonment), so ``Escalator.inbound`` feeds it to no workflow.

A reply to a case's signed reply-to address is vouched for: that token was only
ever mailed to the case's address, so its sender reads that mailbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from escalate._ids import new_id
from escalate._messages import InboundMessage
from escalate._models import Channel, Event, Handoff
from escalate._redact import redact_address
from escalate.consent._inbound import ReplyPlan
from escalate.consent._keywords import ReplyIntent
from escalate.consent._policy import ConsentPolicy
from escalate.store._protocol import OutboxItem
from escalate.workflow._commands import Notify
from escalate.workflow._events import handoff_event

__all__ = [
    "held_cases",
    "hold_unverified",
    "opt_out_unverified",
    "reply_unverified",
]


def _unvouched(message: InboundMessage, signed: Handoff | None) -> bool:
    """An email whose sender the receiver could not authenticate, not to its case's token."""
    if message.channel is not Channel.EMAIL or message.sender_authenticated is not False:
        return False  # None (unknown) keeps it acted on, as before the check existed
    return signed is None or signed.address != message.sender


def opt_out_unverified(
    message: InboundMessage, policy: ConsentPolicy, *, signed: Handoff | None
) -> bool:
    """Whether an opt-out in ``message`` is held for a person rather than honoured.

    ``signed``: the handoff the message's signed reply-to address names, if any.
    """
    return policy.unauthenticated_email_opt_out == "review" and _unvouched(message, signed)


def reply_unverified(
    plan: ReplyPlan, message: InboundMessage, policy: ConsentPolicy, *, signed: Handoff | None
) -> bool:
    """Whether ``message``, a plain reply by ``plan``, is held rather than fed to its case.

    Only a reply that means nothing for consent (no keyword, nothing recorded or
    answered): a HELP is answered, a START refused, and an opt-out has its own rule.
    """
    if plan.classification.intent is not ReplyIntent.NONE or plan.records or plan.outbox:
        return False
    return policy.unauthenticated_email_reply == "review" and _unvouched(message, signed)


def held_cases(
    message: InboundMessage, handoffs: Sequence[Handoff], *, signed: Handoff | None = None
) -> list[Handoff]:
    """The case ``signed`` (the one the message's signed reply-to address names), if
    open, then of ``handoffs`` (in routing order) the open cases on the message's
    address, once each.

    The signed case is told even when another address wrote: its token reached
    someone who may write for the customer, and dropping that unheard would hide it.
    """
    held: dict[str, Handoff] = {}
    if signed is not None and signed.is_open:
        held[signed.id] = signed
    for handoff in handoffs:
        if handoff.address == message.sender and handoff.is_open:
            held.setdefault(handoff.id, handoff)
    return list(held.values())


@dataclass(frozen=True)
class _Hold:
    """How one kind of held message is recorded and told."""

    kind: str
    topic: str
    what: str
    #: Whether an attempt on no open case is recorded all the same.
    record_without_case: bool


_OPT_OUT = _Hold(
    "consent.opt_out_unverified",
    "unverified_opt_out",
    "an email opt-out whose sender could not be authenticated; consent is kept",
    record_without_case=True,
)
_REPLY = _Hold(
    "reply.unverified",
    "unverified_reply",
    "an email reply whose sender could not be authenticated; its timers still run",
    # Unauthenticated mail to no case is everyday spam, not an attempt on one.
    record_without_case=False,
)


def hold_unverified(
    plan: ReplyPlan,
    message: InboundMessage,
    handoffs: Sequence[Handoff],
    *,
    tenant: str,
    now: datetime,
    signed: Handoff | None = None,
) -> ReplyPlan:
    """``plan`` (a revocation, or a plain reply) replaced by an audit event and a
    helpdesk notice per held case (``held_cases``); nothing is revoked or sent.

    ``handoffs``: the sender's open cases; those on the message's address are told.
    """
    hold = _OPT_OUT if plan.revoked else _REPLY
    address = redact_address(message.sender.kind.value, message.sender.value)
    key = message.provider_message_id or new_id("in")
    data = {
        "address": address,
        "channel": message.channel.value,
        "rule": plan.classification.rule,
        "provider_message_id": message.provider_message_id,
    }
    events = []
    outbox = []
    for handoff in held_cases(message, handoffs, signed=signed):
        events.append(handoff_event(handoff, hold.kind, now, "customer", **data))
        text = (
            f"case {handoff.reference}: {hold.what} and the case stays open until a person "
            "confirms with the customer"
        )
        outbox.append(
            OutboxItem(
                id=new_id("ob"),
                tenant=tenant,
                handoff_id=handoff.id,
                idempotency_key=f"consent:{hold.topic}:{key}:{handoff.id}",
                command=Notify(topic=hold.topic, text=text),
                due_at=now,
                created_at=now,
            )
        )
    if not events and hold.record_without_case:  # no case to tell: still on the record
        events.append(
            Event(
                id=new_id("ev"), tenant=tenant, kind=hold.kind, at=now, actor="customer", data=data
            )
        )
    return ReplyPlan(plan.classification, events=tuple(events), outbox=tuple(outbox))
