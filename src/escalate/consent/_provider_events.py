"""Provider events that are consent facts: a pure mapping to ledger records.

A webhook parser (or a transport that got an error) calls
``records_from_provider_event`` (pure) or ``ConsentLedger.record_provider_event``
(which also writes them). The mapping is a table, as the providers document it:

| provider | event | record |
| --- | --- | --- |
| twilio | ``21610`` (recipient replied STOP to the carrier) | revoke, every purpose |
| sendgrid | ``unsubscribe`` (global unsubscribe) | revoke, every purpose |
| sendgrid | ``group_unsubscribe`` (an unsubscribe group) | revoke, marketing |
| sendgrid | ``spamreport`` | revoke, every purpose |
| sendgrid | ``bounce`` (hard bounce) | suppress, every purpose |

Any other event (``delivered``, ``open``, a soft ``blocked``...) is not a
consent fact and maps to no record.
"""

from __future__ import annotations

from datetime import datetime

from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._models import Channel
from escalate.consent._making import make_consent_record
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Purpose,
)

__all__ = ["PROVIDER_CONSENT_EVENTS", "provider_record", "records_from_provider_event"]

#: ``(provider, event) -> (action, purpose or None for every purpose, channel)``.
PROVIDER_CONSENT_EVENTS: dict[tuple[str, str], tuple[ConsentAction, Purpose | None, Channel]] = {
    ("twilio", "21610"): (ConsentAction.REVOKE, None, Channel.SMS),
    ("sendgrid", "unsubscribe"): (ConsentAction.REVOKE, None, Channel.EMAIL),
    ("sendgrid", "group_unsubscribe"): (ConsentAction.REVOKE, Purpose.MARKETING, Channel.EMAIL),
    ("sendgrid", "spamreport"): (ConsentAction.REVOKE, None, Channel.EMAIL),
    ("sendgrid", "bounce"): (ConsentAction.SUPPRESS, None, Channel.EMAIL),
    # A ``dropped`` event whose reason is SendGrid's own suppression list.
    ("sendgrid", "suppressed"): (ConsentAction.SUPPRESS, None, Channel.EMAIL),
}
_PROVIDERS = frozenset(provider for provider, _ in PROVIDER_CONSENT_EVENTS)


def records_from_provider_event(
    *,
    tenant: str,
    provider: str,
    event: str,
    address: Identity,
    at: datetime,
    provider_message_id: str | None = None,
    handoff_id: str | None = None,
) -> tuple[ConsentRecord, ...]:
    """The consent records one provider event stands for (empty when it is not a consent fact).

    Args:
        tenant: the tenant the address belongs to.
        provider: ``"twilio"`` or ``"sendgrid"``.
        event: Twilio's error code (``"21610"``) or SendGrid's event name.
        address: the recipient the event is about.
        at: when the provider reported it.
        provider_message_id: the provider's id of the message concerned.
        handoff_id: the handoff the message belonged to, when known.

    Raises:
        InvalidInput: an unknown provider, an address of the wrong kind for the
            event's channel, or a naive ``at``.
    """

    if not isinstance(provider, str) or provider.lower() not in _PROVIDERS:
        raise InvalidInput(f"unknown provider {provider!r}; known: {sorted(_PROVIDERS)}")
    if not isinstance(event, str):
        raise InvalidInput("a provider event is named by a string")
    if not isinstance(address, Identity):
        raise InvalidInput("a provider event's address must be an Identity")
    provider = provider.lower()
    mapped = PROVIDER_CONSENT_EVENTS.get((provider, event.strip().lower()))
    if mapped is None:
        return ()
    action, purpose, channel = mapped
    expected = IdentityKind.PHONE if channel is Channel.SMS else IdentityKind.EMAIL
    if address.kind is not expected:
        raise InvalidInput(f"{provider} {event!r} concerns a {expected.value} address")
    return (
        provider_record(
            tenant=tenant,
            address=address,
            channel=channel,
            action=action,
            purpose=purpose,
            provider=provider,
            rule=f"{provider}:{event.strip().lower()}",
            at=at,
            handoff_id=handoff_id,
            provider_message_id=provider_message_id,
        ),
    )


def provider_record(
    *,
    tenant: str,
    address: Identity,
    channel: Channel,
    action: ConsentAction,
    purpose: Purpose | None,
    provider: str,
    rule: str,
    at: datetime,
    handoff_id: str | None,
    provider_message_id: str | None,
) -> ConsentRecord:
    """A consent record a provider stands for: its actor, evidence naming ``rule``;
    ``purpose`` ``None`` is every purpose."""
    return make_consent_record(
        tenant=tenant,
        address=address,
        channel=channel,
        purpose=purpose or Purpose.TRANSACTIONAL,
        action=action,
        evidence=ConsentEvidence(
            source=ConsentSource.PROVIDER_EVENT,
            provider_message_id=provider_message_id,
            rule=rule,
        ),
        at=at,
        actor=provider,
        handoff_id=handoff_id,
        all_purposes=purpose is None,
    )
