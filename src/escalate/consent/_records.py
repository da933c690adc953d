"""Consent facts: the append-only ``ConsentRecord`` and the ``ConsentEvidence`` behind it."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import ConfigDict, Field, model_validator

from escalate._identity import Identity
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime, Channel

__all__ = [
    "ConsentAction",
    "ConsentEvidence",
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
    GRANT = "grant"
    REVOKE = "revoke"


class ConsentSource(StrEnum):
    """How the consent fact reached us."""

    WEB_FORM = "web_form"
    SMS_KEYWORD = "sms_keyword"
    EMAIL_LINK = "email_link"
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

    @model_validator(mode="after")
    def _version_from_text(self) -> Self:
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
    seq: int | None = None

    @property
    def source(self) -> ConsentSource:
        return self.evidence.source


class Decision(Model):
    """The answer to "may we send to this address, for this purpose, now?".

    Attributes:
        allowed: send now.
        reason: a stable code: ``granted``, ``no_consent``, ``revoked``, ``quiet_hours``...
        records: the ledger records the decision was based on.
        not_before: when sending is deferred rather than refused, the earliest instant.
    """

    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str
    records: tuple[ConsentRecord, ...] = ()
    not_before: datetime | None = None
