"""``ConsentLedger``: the consent API a caller holds as ``esc.consent``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from escalate._clock import Clock, ensure_aware
from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id
from escalate._models import Channel, Event, channel_for
from escalate._redact import redact_address
from escalate.consent._ledger import decide_from_records
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentRecord,
    Decision,
    Purpose,
)
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = ["ConsentLedger", "consent_event", "make_consent_record", "parse_purpose"]


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
    action: ConsentAction,
    evidence: ConsentEvidence,
    at: datetime,
    channel: Channel | None = None,
    actor: str = "system",
    handoff_id: str | None = None,
    all_purposes: bool = False,
) -> ConsentRecord:
    """Build a consent record, refusing addresses that cannot be messaged privately."""
    check_address(address)
    return ConsentRecord(
        id=new_id("cr"),
        tenant=tenant,
        address=address,
        channel=channel or channel_for(address),
        purpose=parse_purpose(purpose),
        action=ConsentAction(action),
        evidence=evidence,
        at=ensure_aware(at, "at"),
        actor=actor,
        handoff_id=handoff_id,
        all_purposes=all_purposes,
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
            "record_id": record.id,
        },
    )


def _parse_action(action: ConsentAction | str) -> ConsentAction:
    try:
        return ConsentAction(action)
    except ValueError:
        raise InvalidInput(f"unknown consent action {action!r}; use grant or revoke") from None


class ConsentLedger:
    """Append-only consent facts per address, and the decision drawn from them."""

    def __init__(self, store: Store, *, tenant: str, clock: Clock) -> None:
        self._store = store
        self._tenant = tenant
        self._clock = clock

    def records(self, address: Identity) -> list[ConsentRecord]:
        """Every record held for ``address``, oldest first."""
        return self._store.consent_records(self._tenant, check_address(address))

    def decide(
        self, address: Identity, purpose: Purpose | str, at: datetime | None = None
    ) -> Decision:
        """May we message ``address`` for ``purpose`` at ``at`` (default: now)?

        Raises:
            InvalidInput: unknown purpose, or a naive ``at``.
        """
        if at is not None and not isinstance(at, datetime):
            raise InvalidInput("at must be a timezone-aware datetime")
        when = ensure_aware(at, "at") if at is not None else self._clock.now()
        return decide_from_records(self.records(address), parse_purpose(purpose), when)

    def record(
        self,
        address: Identity,
        *,
        purpose: Purpose | str,
        action: ConsentAction | str,
        evidence: ConsentEvidence,
        actor: str = "api",
        all_purposes: bool = False,
    ) -> ConsentRecord:
        """Append one consent fact, with its audit event, in one transaction."""
        record = make_consent_record(
            tenant=self._tenant,
            address=address,
            purpose=purpose,
            action=_parse_action(action),
            evidence=evidence,
            at=self._clock.now(),
            actor=actor,
            all_purposes=all_purposes,
        )
        self._store.commit(Changes(consent=(record,), events=(consent_event(record),)))
        return record

    def grant(
        self,
        address: Identity,
        evidence: ConsentEvidence,
        *,
        purpose: Purpose | str = Purpose.TRANSACTIONAL,
        actor: str = "api",
    ) -> ConsentRecord:
        """Record a grant for ``purpose``."""
        return self.record(
            address, purpose=purpose, action=ConsentAction.GRANT, evidence=evidence, actor=actor
        )

    def revoke(
        self,
        address: Identity,
        evidence: ConsentEvidence,
        *,
        purpose: Purpose | str | None = None,
        actor: str = "api",
    ) -> ConsentRecord:
        """Record a revoke for ``purpose``, or for every purpose when it is ``None``."""
        return self.record(
            address,
            purpose=purpose or Purpose.TRANSACTIONAL,
            action=ConsentAction.REVOKE,
            evidence=evidence,
            actor=actor,
            all_purposes=purpose is None,
        )
