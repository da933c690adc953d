"""Consent facts: the append-only ``ConsentRecord`` and the ``ConsentEvidence`` behind it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from escalate._enum import StrEnum
from escalate._identity import Identity
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime, Channel

__all__ = [
    "ConsentAction",
    "ConsentEvidence",
    "ConsentFact",
    "ConsentProof",
    "ConsentRecord",
    "ConsentSource",
    "Decision",
    "Purpose",
    "text_version",
]


class Purpose(StrEnum):
    """Why we contact someone; consent is given per purpose."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class ConsentAction(StrEnum):
    """A grant gives consent; a revoke takes it back; a suppression stops sends to an
    address the provider cannot deliver to (a hard bounce), whatever the consent."""

    GRANT = "grant"
    REVOKE = "revoke"
    SUPPRESS = "suppress"


class ConsentSource(StrEnum):
    """How the consent fact reached us."""

    WEB_FORM = "web_form"
    SMS_KEYWORD = "sms_keyword"
    EMAIL_LINK = "email_link"
    #: A keyword in an email reply ("STOP", "unsubscribe").
    EMAIL_REPLY = "email_reply"
    #: An answer in a social direct message.
    DM_REPLY = "dm_reply"
    AGENT_ATTESTED = "agent_attested"
    PROVIDER_EVENT = "provider_event"
    API = "api"


def text_version(text: str) -> str:
    """A short, stable hash of the exact consent text shown (sha256, 16 hex digits)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ConsentEvidence(Model):
    """What proves a consent fact: the exact words shown, and where the answer came from.

    ``text_version`` is computed from ``text`` when not given, so two records made
    from the same wording can be grouped and the wording proven later.
    """

    model_config = ConfigDict(frozen=True)

    source: ConsentSource
    text: str | None = Field(default=None, max_length=10_000)
    text_version: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    provider_message_id: str | None = None
    thread_id: str | None = None
    #: For a reply read as consent: the classifier rule that read it (``keyword``,
    #: ``stop_messaging``...), or the provider event it came from.
    rule: str | None = None

    def __repr__(self) -> str:
        # ip and user agent are personal data: say only whether they are held.
        ip = "<held>" if self.ip else None
        agent = "<held>" if self.user_agent else None
        return (
            f"ConsentEvidence(source={self.source.value!r}, text_version={self.text_version!r}, "
            f"ip={ip}, user_agent={agent}, thread_id={self.thread_id!r}, rule={self.rule!r})"
        )

    @model_validator(mode="after")
    def _version_from_text(self) -> Self:
        if self.text is not None and not self.text.strip():
            # The exact words shown are the proof; blank words prove nothing (and
            # a form that showed none should say so with text=None).
            raise ValueError("text, when given, is the consent wording shown, not blank")
        if self.text is not None and self.text_version is None:
            object.__setattr__(self, "text_version", text_version(self.text))
        return self


class ConsentRecord(Model):
    """One append-only consent fact about one address (not a person)."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    address: Identity
    channel: Channel
    purpose: Purpose
    action: ConsentAction
    evidence: ConsentEvidence
    at: AwareDatetime
    actor: str = "system"
    handoff_id: str | None = None
    #: A revoke that covers every purpose (a STOP keyword does).
    all_purposes: bool = False
    #: A double opt-in grant that waits for the customer's YES: only the
    #: confirmation request may be sent until a confirmed grant follows.
    awaiting_confirmation: bool = False
    seq: int | None = None

    @property
    def source(self) -> ConsentSource:
        return self.evidence.source

    @property
    def tied_to_request(self) -> bool:
        """True when the grant came with a customer's request (a handoff or a thread)."""
        return self.handoff_id is not None or self.evidence.thread_id is not None

    @property
    def explicit(self) -> bool:
        """True when the customer gave this grant themselves, not an agent or a provider."""
        return self.source not in (ConsentSource.AGENT_ATTESTED, ConsentSource.PROVIDER_EVENT)

    def __repr__(self) -> str:
        return (
            f"ConsentRecord(id={self.id!r}, address={self.address!r}, "
            f"purpose={self.purpose.value!r}, action={self.action.value!r}, "
            f"source={self.source.value!r}, at={self.at.isoformat()!r})"
        )


class ConsentProof(Model):
    """What ``erase`` keeps of a consent record: no address, no evidence beyond its shape.

    ``address_hash`` is a keyed hash of the address, so a number that comes back
    after erasure is still recognized (a revoke keeps holding) while the proof
    names nobody. ``text_version`` still proves which wording was agreed to.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    address_hash: str
    channel: Channel
    purpose: Purpose
    action: ConsentAction
    source: ConsentSource
    text_version: str | None = None
    at: AwareDatetime
    all_purposes: bool = False
    awaiting_confirmation: bool = False
    tied_to_request: bool = False
    explicit: bool = True
    seq: int | None = None

    @classmethod
    def of(cls, record: ConsentRecord, address_hash: str) -> ConsentProof:
        """The minimum proof of ``record``."""
        return cls(
            id=record.id,
            tenant=record.tenant,
            address_hash=address_hash,
            channel=record.channel,
            purpose=record.purpose,
            action=record.action,
            source=record.source,
            text_version=record.evidence.text_version,
            at=record.at,
            all_purposes=record.all_purposes,
            awaiting_confirmation=record.awaiting_confirmation,
            tied_to_request=record.tied_to_request,
            explicit=record.explicit,
            seq=record.seq,
        )


#: What a decision is drawn from: live records, and the proofs erased ones left.
ConsentFact = ConsentRecord | ConsentProof


class Decision(Model):
    """The answer to "may we send to this address, for this purpose, now?".

    Attributes:
        allowed: send now.
        reason: a stable code (see ``docs/consent.md``): ``granted``, ``no_consent``,
            ``revoked``, ``suppressed``, ``awaiting_confirmation``,
            ``marketing_requires_explicit_grant``, ``grant_not_tied_to_request``,
            ``quiet_hours``, ``keyword_reply``, ``confirmation_window_passed``...
        records: the ledger records (or erased proofs) the decision was based on.
        not_before: when sending is deferred rather than refused, the earliest instant.
        zone_source: for SMS, where the quiet-hours zone came from: ``number``,
            ``contact`` or ``tenant_default``.
        zones: the zone(s) quiet hours were judged in.
    """

    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str
    records: tuple[ConsentRecord | ConsentProof, ...] = ()
    not_before: datetime | None = None
    zone_source: str | None = None
    zones: tuple[str, ...] = ()
