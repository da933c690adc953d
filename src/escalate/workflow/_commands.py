"""Commands: what a workflow step asks the engine to do. Plain data, no I/O.

``PostPublicReply``, ``SendMessage`` and ``Notify`` go through the outbox and are
executed after their transition commits; ``StartTimer``, ``CancelTimer`` and
``RecordConsent`` are state, written in the transition's own transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from escalate._identity import Identity
from escalate._model import Model
from escalate._models import AwareDatetime, Channel
from escalate._redact import redact_body
from escalate.consent._records import ConsentAction, ConsentEvidence, Purpose
from escalate.sms import segments as sms_segments

__all__ = [
    "CancelTimer",
    "Command",
    "Notify",
    "OutboxCommand",
    "PostPublicReply",
    "RecordConsent",
    "SendMessage",
    "MoveTimer",
    "StartTimer",
]


class _Command(Model):
    model_config = ConfigDict(frozen=True)


class PostPublicReply(_Command):
    """Reply publicly under the handoff's thread.

    ``valid_until`` and ``later_text`` (both or neither): ``text`` holds a fact
    that stops being true at ``valid_until`` (an off-hours acknowledgement's
    "our team is back Monday 09:00"); a reply that only gets posted then
    (retried, or a scheduler that ran late) posts ``later_text`` instead.
    """

    kind: Literal["post_public_reply"] = "post_public_reply"
    text: str = Field(min_length=1)
    #: A Meta private reply to the comment (one per comment, within 7 days),
    #: sent through the publisher's ``private_reply``.
    private: bool = False
    valid_until: AwareDatetime | None = None
    later_text: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _later_text_with_its_time(self) -> PostPublicReply:
        if (self.valid_until is None) is not (self.later_text is None):
            raise ValueError("valid_until and later_text go together")
        return self

    def text_at(self, at: datetime) -> str:
        """What to post at ``at``: ``later_text`` from ``valid_until`` on, else ``text``."""
        if self.later_text is not None and self.valid_until is not None and at >= self.valid_until:
            return self.later_text
        return self.text

    def __repr__(self) -> str:
        # Public, but it greets the author by handle, which erasure treats as
        # personal data: kept out of reprs (and so of logs) like a private body.
        return f"PostPublicReply(text={redact_body(self.text)}, private={self.private})"


class SendMessage(_Command):
    """Send a private message; the engine checks consent right before sending.

    ``opt_in_request`` marks the one message that may go out before a grant
    exists: the double opt-in request ("Reply YES to get updates..."). The
    engine sends it only if the address has no revoke, and at most once per
    address and handoff. ``headers`` and ``reply_to`` are passed to the
    transport (email threading); ``segments``/``encoding`` report an SMS's cost
    (filled from ``body`` when an SMS is built without them).
    ``follow_up`` marks a nudge a customer's reply makes pointless (a reminder):
    one still waiting when they reply (held by quiet hours) is withdrawn.
    ``values`` are what the template was filled with besides the settings and
    the reference (an agent's ``text``): a workflow told the send failed
    (``SendFailed.message``) renders it again from them for another channel.
    Like ``body`` they are personal data, kept in the outbox row (erased with
    it) and out of reprs and audit events. ``in_order`` keeps a message behind
    the handoff's earlier messages to the same address: it leaves only once
    the one before it has (sent, failed, held or withdrawn), even when that one
    waits for a retry or the morning (``OutboxItem.after``).
    """

    kind: Literal["send_message"] = "send_message"
    channel: Channel
    to: Identity
    body: str = Field(min_length=1)
    purpose: Purpose = Purpose.TRANSACTIONAL
    subject: str | None = None
    template: str | None = None
    #: For a consent confirmation: the id of the consent record it confirms; it
    #: may go only while that record is the address's latest.
    confirms: str | None = None
    opt_in_request: bool = False
    follow_up: bool = False
    in_order: bool = False
    headers: dict[str, str] = Field(default_factory=dict)
    reply_to: str | None = None
    segments: int | None = None
    encoding: str | None = None
    values: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _sms_size(cls, data: Any) -> Any:
        # Whoever builds an SMS (a default step, a custom one, a keyword answer),
        # its cost is on the outbox row before it goes: providers bill per segment.
        if (
            isinstance(data, dict)
            and data.get("channel") == Channel.SMS
            and data.get("segments") is None
            and data.get("encoding") is None
            and isinstance(data.get("body"), str)
        ):
            cost = sms_segments(data["body"])
            return {**data, "segments": cost.segments, "encoding": cost.encoding.value}
        return data

    def __repr__(self) -> str:
        body = redact_body(self.body)
        return f"SendMessage(channel={self.channel.value!r}, to={self.to!r}, body={body})"


class Notify(_Command):
    """Tell the helpdesk something (an SLA at risk, an abandoned handoff).

    ``key``: set by the engine when it hands the notice to the notifier, the
    outbox row's idempotency key. A notice is delivered at least once (a worker
    that dies after calling the notifier, before the row settled, leaves it to
    the next), so a notifier that must not act twice deduplicates on it.
    """

    kind: Literal["notify"] = "notify"
    topic: str
    text: str
    key: str | None = None


class StartTimer(_Command):
    """Start (or restart) the handoff's timer called ``name``."""

    kind: Literal["start_timer"] = "start_timer"
    name: str
    due_at: AwareDatetime


class MoveTimer(_Command):
    """Move the handoff's pending timer called ``name`` to ``due_at``; nothing if none is.

    Unlike ``StartTimer``, it never starts a timer that is not running: for a
    follow-up counted again from a later instant, which a reply may already
    have cancelled.
    """

    kind: Literal["move_timer"] = "move_timer"
    name: str
    due_at: AwareDatetime


class CancelTimer(_Command):
    """Cancel the handoff's timer called ``name``, if it is pending."""

    kind: Literal["cancel_timer"] = "cancel_timer"
    name: str


class RecordConsent(_Command):
    """Append a consent record for an address."""

    kind: Literal["record_consent"] = "record_consent"
    address: Identity
    channel: Channel
    purpose: Purpose
    action: ConsentAction
    evidence: ConsentEvidence
    all_purposes: bool = False
    #: A double opt-in grant: only the "Reply YES" request may go until YES comes.
    awaiting_confirmation: bool = False


OutboxCommand = Annotated[PostPublicReply | SendMessage | Notify, Field(discriminator="kind")]
Command = (
    PostPublicReply | SendMessage | Notify | StartTimer | MoveTimer | CancelTimer | RecordConsent
)
