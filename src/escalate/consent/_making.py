"""Building consent records and their audit events.

Shared by the ledger (``esc.consent``), the inbound keyword handling, provider
events and the workflow engine, so that every consent fact is checked and shaped
by the same code.
"""

from __future__ import annotations

from datetime import datetime

from escalate._clock import ensure_aware
from escalate._enum import member_of
from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id
from escalate._models import Channel, Event, channel_for
from escalate._redact import redact_address
from escalate.consent._records import ConsentAction, ConsentEvidence, ConsentRecord, Purpose

__all__ = [
    "channel_reaching",
    "check_address",
    "consent_event",
    "make_consent_record",
    "parse_purpose",
]


def parse_purpose(purpose: Purpose | str) -> Purpose:
    """``Purpose(purpose)``, with a typed error naming the choices."""
    try:
        return Purpose(purpose)
    except ValueError:
        choices = [p.value for p in Purpose]
        raise InvalidInput(f"unknown purpose {purpose!r}; use one of {choices}") from None


def check_address(address: object) -> Identity:
    """``address`` if it is a phone or email ``Identity``; ``InvalidInput`` otherwise."""
    if not isinstance(address, Identity) or address.kind is IdentityKind.SOCIAL:
        raise InvalidInput("consent belongs to a phone or email Identity")
    return address


def make_consent_record(
    *,
    tenant: str,
    address: Identity,
    purpose: Purpose | str,
    action: ConsentAction | str,
    evidence: ConsentEvidence,
    at: datetime,
    channel: Channel | None = None,
    actor: str = "system",
    handoff_id: str | None = None,
    all_purposes: bool = False,
    awaiting_confirmation: bool = False,
) -> ConsentRecord:
    """Build a consent record, refusing addresses that cannot be messaged privately."""
    check_address(address)
    if not isinstance(evidence, ConsentEvidence):
        raise InvalidInput("evidence must be a ConsentEvidence")
    try:
        action = ConsentAction(action)
    except ValueError:
        raise InvalidInput(f"unknown consent action {action!r}; use grant or revoke") from None
    return ConsentRecord(
        id=new_id("cr"),
        tenant=tenant,
        address=address,
        channel=channel or channel_for(address),
        purpose=parse_purpose(purpose),
        action=action,
        evidence=evidence,
        at=ensure_aware(at, "at"),
        actor=actor,
        handoff_id=handoff_id,
        all_purposes=all_purposes,
        awaiting_confirmation=awaiting_confirmation,
    )


def consent_event(record: ConsentRecord) -> Event:
    """The audit event for a consent record (address redacted)."""
    return Event(
        id=new_id("ev"),
        tenant=record.tenant,
        kind="consent.recorded",
        at=record.at,
        handoff_id=record.handoff_id,
        actor=record.actor,
        data={
            "address": redact_address(record.address.kind.value, record.address.value),
            "purpose": record.purpose.value,
            "action": record.action.value,
            "source": record.source.value,
            "all_purposes": record.all_purposes,
            "awaiting_confirmation": record.awaiting_confirmation,
            "rule": record.evidence.rule,
            "channel": record.channel.value,
            "record_id": record.id,
        },
    )


def channel_reaching(address: Identity, channel: Channel | str) -> Channel:
    """``channel`` if it reaches ``address``: SMS or WhatsApp a phone, email an email."""
    check_address(address)
    found = member_of(Channel, channel, "channel")
    if (found is Channel.EMAIL) != (channel_for(address) is Channel.EMAIL):
        kind = "an email" if address.kind is IdentityKind.EMAIL else "a phone"
        raise InvalidInput(f"{kind} address is not reached by {found.value}")
    return found
