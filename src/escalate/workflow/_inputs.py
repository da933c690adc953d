"""Workflow inputs: the things that happen to a handoff and make it move.

(The audit log's entries are ``escalate.Event``; these are what a workflow
decides on.)
"""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._messages import InboundMessage
from escalate._model import Model
from escalate._models import AwareDatetime, Channel
from escalate._redact import redact_body
from escalate.consent._records import ConsentEvidence
from escalate.workflow._commands import SendMessage

__all__ = [
    "AgentReplied",
    "ALL_INPUTS",
    "ContactProvided",
    "Opened",
    "OptInConfirmed",
    "OptedOut",
    "PublicReplyPosted",
    "ReplyReceived",
    "ResolveRequested",
    "SendDeferred",
    "SendFailed",
    "TimerFired",
    "WorkflowInput",
    "input_kind",
]


class _Input(Model):
    model_config = ConfigDict(frozen=True)


class Opened(_Input):
    """A public post was escalated.

    ``earlier_handoffs`` counts the thread's handoffs before this one (all
    closed): a platform may limit what a thread can be sent once, ever (Meta:
    one private reply per comment).
    """

    kind: Literal["opened"] = "opened"
    earlier_handoffs: int = Field(default=0, ge=0)


class PublicReplyPosted(_Input):
    """The public acknowledgement was published.

    ``private`` when it was a Meta private reply (``PostPublicReply(private=True)``):
    only the comment's author sees it, so it is no public acknowledgement, and
    the default workflow does not move the case on for it.
    """

    kind: Literal["public_reply_posted"] = "public_reply_posted"
    post_id: str
    private: bool = False


class PublicReplyFailed(_Input):
    """The public acknowledgement (or, ``private``, the Meta private reply) failed for good.

    ``reason``: why (``no_publisher``, ``retries_exhausted``, an error's name...).
    The customer has no answer, or was told of a private message that never came.
    """

    kind: Literal["public_reply_failed"] = "public_reply_failed"
    reason: str
    private: bool = False


class ContactProvided(_Input):
    """The customer gave a private address, with or without consent evidence."""

    kind: Literal["contact_provided"] = "contact_provided"
    identity: Identity
    consent: ConsentEvidence | None = None


class ReplyReceived(_Input):
    """The customer wrote to us on the private channel."""

    kind: Literal["reply_received"] = "reply_received"
    message: InboundMessage


class AgentReplied(_Input):
    """An agent wrote to the customer on the private channel (``esc.send_message``).

    Its repr shows the text's length only: it is a message body.
    """

    kind: Literal["agent_replied"] = "agent_replied"
    text: str = Field(min_length=1, max_length=5_000)

    def __repr__(self) -> str:
        return f"AgentReplied(kind={self.kind!r}, text={redact_body(self.text)})"


class TimerFired(_Input):
    """A durable timer came due; ``name`` is the name it was started with."""

    kind: Literal["timer_fired"] = "timer_fired"
    name: str


class ResolveRequested(_Input):
    """An agent (or integration) closed the case as resolved."""

    kind: Literal["resolve"] = "resolve"
    # Strict: b"done" would otherwise be read as the text "done".
    reason: str = Field(default="resolved", strict=True)

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, reason: str) -> str:
        # resolve(reason="") read as "no reason given" would record a default the
        # caller never chose; they omit the argument for that.
        if not reason.strip():
            raise InvalidInput("a resolve reason must not be blank (omit it for 'resolved')")
        return reason


class SendFailed(_Input):
    """A private send failed permanently or was refused.

    ``message`` is the send as it was queued, when the engine feeds the failure
    (``None`` when a delivery report said it was delivered before it failed:
    never send that one again). A workflow that falls back to another channel
    may send it again there, rendered anew from its ``template`` and ``values``
    (the default workflow does so for an agent's message). Its repr is redacted.

    ``queued_version`` is the handoff version whose transition queued the
    message, when the engine knows it: a failure reported after the customer
    wrote from the address (``Handoff.address_replied_version``) is older news
    than the reply.
    """

    kind: Literal["send_failed"] = "send_failed"
    channel: Channel
    reason: str
    message: SendMessage | None = None
    queued_version: int | None = None


class SendDeferred(_Input):
    """Consent held a private send back (quiet hours) until its window opens."""

    kind: Literal["send_deferred"] = "send_deferred"
    channel: Channel
    #: The deferred message's template (``intro.sms``), when it came from one.
    template: str | None = None
    not_before: AwareDatetime


class OptInConfirmed(_Input):
    """The customer answered the double opt-in request with YES."""

    kind: Literal["opt_in_confirmed"] = "opt_in_confirmed"
    message: InboundMessage


class OptedOut(_Input):
    """The customer opted out (STOP or an equivalent) of the handoff's address."""

    kind: Literal["opted_out"] = "opted_out"
    channel: Channel
    reason: str = "opt_out_keyword"


WorkflowInput = (
    Opened
    | PublicReplyPosted
    | PublicReplyFailed
    | ContactProvided
    | ReplyReceived
    | TimerFired
    | ResolveRequested
    | SendFailed
    | SendDeferred
    | OptInConfirmed
    | OptedOut
    | AgentReplied
)


#: Every input type, in declaration order (for the transition table).
ALL_INPUTS: tuple[type[WorkflowInput], ...] = typing.get_args(WorkflowInput)


def input_kind(input_type: type[WorkflowInput]) -> str:
    """The ``kind`` string an input type carries (``"timer_fired"``)."""
    return str(input_type.model_fields["kind"].default)
