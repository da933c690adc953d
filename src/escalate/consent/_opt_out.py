"""The revoke a provider's opt-out refusal stands for, built one way wherever it is met.

A carrier opt-out (Twilio 21610: the recipient replied STOP to the carrier) is
met two ways: the send itself raises ``RecipientOptedOut`` (the workflow's send
path), or a delivery report of a message we sent fails with the code
(``Outbox.reconcile``). Both are the same fact about the address, so this one
function builds the record for both: the same action and scope, source,
evidence and actor, hence the same ``consent.recorded`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from escalate._identity import Identity
from escalate._models import Channel
from escalate.consent._ledger import consent_basis
from escalate.consent._ledger_service import consent_facts
from escalate.consent._provider_events import PROVIDER_CONSENT_EVENTS, provider_record
from escalate.consent._records import (
    ConsentAction,
    ConsentRecord,
    Purpose,
)

if TYPE_CHECKING:
    from escalate.consent._policy import ConsentPolicy
    from escalate.store._protocol import Store

__all__ = ["opt_out_records"]

_HOLDING = frozenset({"revoked", "suppressed"})


def opt_out_records(
    store: Store,
    policy: ConsentPolicy,
    *,
    tenant: str,
    address: Identity,
    channel: Channel,
    provider: str,
    code: str | None,
    at: datetime,
    handoff_id: str | None,
    provider_message_id: str | None = None,
) -> tuple[ConsentRecord, ...]:
    """The revoke a provider's refusal of our message to ``address`` for an opt-out stands for.

    A revoke of every purpose (unless the provider's table,
    ``PROVIDER_CONSENT_EVENTS``, scopes the code to one), from a provider event,
    its evidence naming the rule ``"<provider>:<code>"``. Nothing when the
    address is already revoked or suppressed for all it would cover: a webhook
    records the opt-out before it reconciles the row, and a STOP's confirmation
    goes to the address the STOP revoked.

    Args:
        store, policy: where the address's consent facts are read, and how.
        tenant, address: whose consent it is.
        channel: the channel of the message refused.
        provider: the provider that refused it (the record's actor).
        code: the provider's error code, if it gave one (``"21610"``).
        at: when we learnt it.
        handoff_id: the message's handoff, if any.
        provider_message_id: the provider's id of the message, when it made one.
    """
    mapped = PROVIDER_CONSENT_EVENTS.get((provider, code or ""))
    purpose = mapped[1] if mapped is not None else None
    facts = consent_facts(store, tenant, address, policy)
    covered = list(Purpose) if purpose is None else [purpose]
    if all(consent_basis(facts, each, at).reason in _HOLDING for each in covered):
        return ()
    return (
        provider_record(
            tenant=tenant,
            address=address,
            channel=channel,
            action=ConsentAction.REVOKE,
            purpose=purpose,
            provider=provider,
            rule=f"{provider}:{code}" if code else provider,
            at=at,
            handoff_id=handoff_id,
            provider_message_id=provider_message_id,
        ),
    )
