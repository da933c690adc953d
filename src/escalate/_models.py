"""The domain records every layer shares: channels, threads, handoffs and audit events.

All are frozen pydantic models: a change is a new value, written by the store in
one transaction with the audit events that explain it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from escalate._clock import ensure_aware
from escalate._enum import StrEnum
from escalate._identity import PLATFORMS, Identity, IdentityKind
from escalate._model import Model
from escalate._redact import redact_body
from escalate._tenant import DEFAULT_TENANT

__all__ = [
    "DEFAULT_TENANT",
    "TERMINAL_STATES",
    "AwareDatetime",
    "Channel",
    "Event",
    "Handoff",
    "HandoffState",
    "Thread",
    "channel_for",
]


#: A datetime that must carry a time zone; stored and compared in UTC.
AwareDatetime = Annotated[datetime, AfterValidator(ensure_aware)]


class Channel(StrEnum):
    """A private channel a message can travel on."""

    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"


def channel_for(identity: Identity) -> Channel:
    """The default private channel for an address: SMS for a phone, email for an email."""
    if identity.kind is IdentityKind.PHONE:
        return Channel.SMS
    if identity.kind is IdentityKind.EMAIL:
        return Channel.EMAIL
    raise ValueError("a social identity is not a private channel")


class Thread(Model):
    """The public post that starts a handoff.

    Args:
        platform: ``"x"``, ``"facebook"`` or ``"instagram"``.
        thread_id: the platform's id of the post (a tweet id, a comment id).
        author: the poster, an ``Identity.social`` on the same platform.
        text: what they wrote, publicly.
        posted_at: when, timezone-aware.
        url: a link to the post, when known.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    thread_id: str = Field(min_length=1, max_length=200)
    author: Identity
    text: str = Field(max_length=100_000)
    posted_at: AwareDatetime
    url: str | None = None

    @field_validator("platform")
    @classmethod
    def _canonical_platform(cls, value: str) -> str:
        canonical = PLATFORMS.get(value.strip().lower())
        if canonical is None:
            raise ValueError(f"unknown platform {value!r}")
        return canonical

    @field_validator("author")
    @classmethod
    def _social_author(cls, value: Identity) -> Identity:
        if value.kind is not IdentityKind.SOCIAL:
            raise ValueError("a thread's author must be a social identity")
        return value

    @model_validator(mode="after")
    def _same_platform(self) -> Self:
        if self.author.platform != self.platform:
            raise ValueError("the author's platform must be the thread's platform")
        return self

    def __repr__(self) -> str:
        return (
            f"Thread(platform={self.platform!r}, thread_id={self.thread_id!r}, "
            f"author={self.author!r}, text={redact_body(self.text)})"
        )


class HandoffState(StrEnum):
    """Where a handoff stands. See ``docs/architecture.md`` for the diagram."""

    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    AWAITING_CONTACT = "awaiting_contact"
    AWAITING_CONSENT = "awaiting_consent"
    CONNECTED = "connected"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"
    DECLINED = "declined"
    FAILED = "failed"


TERMINAL_STATES = frozenset(
    {HandoffState.RESOLVED, HandoffState.ABANDONED, HandoffState.DECLINED, HandoffState.FAILED}
)


class Handoff(Model):
    """One escalation of one public thread to a private channel.

    ``version`` increases with every committed change; the store refuses a write
    whose version is not exactly one more than the stored one, so two workers can
    never both move the same handoff.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    reference: str
    thread: Thread
    state: HandoffState = HandoffState.OPENED
    version: int = 1
    contact_id: str | None = None
    channel: Channel | None = None
    address: Identity | None = None
    opened_at: AwareDatetime
    updated_at: AwareDatetime
    acknowledged_at: AwareDatetime | None = None
    connected_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    close_reason: str | None = None
    #: The version whose transition closed it: private sends queued before it are
    #: cancelled, not sent (those its closing transition queued still go).
    closed_version: int | None = None
    #: The version whose transition took the customer's latest reply: a follow-up
    #: queued before it and still waiting (held by quiet hours) is withdrawn.
    replied_version: int | None = None
    #: The version whose transition took the customer's latest reply from the
    #: handoff's own address: it reaches them, whatever a failure of a message
    #: queued before it reports later.
    address_replied_version: int | None = None
    #: Channels whose sends failed permanently; the workflow does not fall back to them.
    failed_channels: tuple[Channel, ...] = ()

    @property
    def is_open(self) -> bool:
        """True until the handoff reaches a terminal state."""
        return self.state not in TERMINAL_STATES


class Event(Model):
    """One append-only audit entry.

    ``data`` holds no raw personal data: addresses appear redacted, bodies not at
    all (they live in the outbox row that sent them). ``seq`` is assigned by the
    store and orders events globally. ``prev_hash`` and ``hash`` are set by the
    store when it commits the event: they link it into its audit chain (see
    ``escalate.audit`` and ``docs/audit.md``); whatever a caller puts there is replaced.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    kind: str
    at: AwareDatetime
    handoff_id: str | None = None
    contact_id: str | None = None
    actor: str = "system"
    data: dict[str, Any] = Field(default_factory=dict)
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
