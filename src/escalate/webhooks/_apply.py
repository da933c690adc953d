"""Glue from parsed webhook records to the escalator: the outbox, the consent ledger, replies.

Providers deliver at least once and in no particular order, so applying a
record twice, or late, must change nothing. Three layers make it so:

1. ``Seen``: a content-key check (``record.key``, built from what the callback
   says, not from the provider's event id, which SendGrid changes on a retry),
   per tenant. The default ``MemorySeen`` covers one process; plug a shared one
   (a Redis ``SET NX``) when several processes take webhooks.
2. Delivery reports only move forward: a status at or below what the outbox row
   already knows (``sent`` after ``delivered``), or anything after a final one,
   is dropped here; ``esc.outbox.reconcile`` guards the row's own status too.
3. A provider consent event already in the ledger (same rule, provider message
   id and time) is not written again; an inbound reply's keyword answer has an
   idempotency key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from escalate._enum import StrEnum
from escalate._exceptions import CorruptRecord, InvalidInput, NotFound
from escalate._messages import DeliveryStatus, InboundMessage
from escalate._redact import redact_address
from escalate.consent._provider_events import PROVIDER_CONSENT_EVENTS
from escalate.store._protocol import OutboxItem, OutboxStatus
from escalate.webhooks._base import DeliveryReport, ProviderEvent, content_key, logger
from escalate.workflow._reported import WAS_DELIVERED

if TYPE_CHECKING:
    from escalate._escalator import Escalator

__all__ = [
    "Applied",
    "MemorySeen",
    "Seen",
    "WebhookRecord",
    "apply_delivery_report",
    "apply_many",
    "apply_provider_event",
    "apply_webhook",
]

WebhookRecord = InboundMessage | DeliveryReport | ProviderEvent

#: Progress of a message; a report never moves a row backwards.
_RANK: dict[str, int] = {"queued": 1, "sent": 2, "delivered": 3, "failed": 3}
_FINAL = frozenset({"delivered", "failed"})


class Applied(StrEnum):
    """What applying one webhook record did."""

    APPLIED = "applied"  # recorded, and whatever it implies was done
    DUPLICATE = "duplicate"  # seen before, stale or already recorded: nothing changed
    IGNORED = "ignored"  # nothing to do (not our message, an open or click, unknown status)
    UNKNOWN_MESSAGE = "unknown_message"  # carries an escalate id this tenant does not have


class Seen(Protocol):
    """Remembers content keys: ``first_time(key)`` is True once per key.

    A ``Seen`` may also have ``forget(key)``: it is called when applying the
    record failed (the store was busy, say), so that the provider's retry of
    it is applied rather than dropped as a duplicate. One without ``forget``
    drops that retry.
    """

    def first_time(self, key: str) -> bool:
        """Mark ``key`` seen; True when it was not seen before."""
        ...


class MemorySeen:
    """A bounded, thread-safe ``Seen`` for one process (the oldest keys are forgotten)."""

    def __init__(self, maxsize: int = 100_000) -> None:
        if not isinstance(maxsize, int) or maxsize < 1:
            raise InvalidInput("maxsize must be a positive int")
        self.maxsize = maxsize
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self.maxsize:
                self._keys.popitem(last=False)
            return True

    def forget(self, key: str) -> None:
        """Unmark ``key``: applying its record failed, and a retry must be applied."""
        with self._lock:
            self._keys.pop(key, None)

    def __repr__(self) -> str:
        return f"MemorySeen(maxsize={self.maxsize}, held={len(self._keys)})"


def _key(record: WebhookRecord) -> str | None:
    if isinstance(record, InboundMessage):
        if record.provider_message_id is None:
            return None  # nothing stable to tell a retry by; the ledger still guards keywords
        return content_key(record.provider, "inbound", record.provider_message_id)
    return record.key


def apply_webhook(esc: Escalator, record: WebhookRecord, *, seen: Seen | None = None) -> Applied:
    """Apply one parsed record: a reply to ``esc.inbound``, a delivery report to the
    outbox, a provider event to the consent ledger.

    ``seen`` defaults to ``esc.webhook_seen``, as for ``esc.handle_webhook``: a
    provider's retry of a reply must not reach the case twice.

    Raises:
        InvalidInput: not a webhook record.
    """
    key = _key(record) if isinstance(record, WebhookRecord) else None
    if key is None:
        return _apply(esc, record)
    # The tenant's own key: one provider account serves several tenants, a shared
    # ``Seen`` (Redis) may serve their escalators, and a record one tenant has no
    # use for (``unknown_message``) or that names both (one email to two brands)
    # must still be applied by the other.
    key = content_key(esc.tenant, key)
    if seen is None:
        seen = esc.webhook_seen
    if not seen.first_time(key):
        return Applied.DUPLICATE
    try:
        return _apply(esc, record)
    except BaseException:
        # Not applied: the provider will retry (the app answers 5xx), and the
        # retry must not be dropped as a duplicate. A STOP would be lost.
        forget = getattr(seen, "forget", None)
        if callable(forget):
            forget(key)
        raise


def _apply(esc: Escalator, record: object) -> Applied:
    if isinstance(record, InboundMessage):
        esc.inbound(record)
        return Applied.APPLIED
    if isinstance(record, DeliveryReport):
        return apply_delivery_report(esc, record)
    if isinstance(record, ProviderEvent):
        return apply_provider_event(esc, record)
    raise InvalidInput("apply_webhook() takes an InboundMessage, DeliveryReport or ProviderEvent")


def apply_many(
    esc: Escalator, records: Iterable[WebhookRecord], *, seen: Seen | None = None
) -> list[Applied]:
    """``apply_webhook`` for each record of a batch (a SendGrid POST), in order.

    Raises:
        InvalidInput: an item is not a webhook record (checked before any is applied).
    """
    return esc.handle_webhook(records, seen=seen)


def apply_delivery_report(esc: Escalator, report: DeliveryReport) -> Applied:
    """Reconcile our outbox row with a delivery report, forward only.

    A report for an address the provider holds an opt-out for (Twilio 21610)
    also records that revocation.
    """
    revoked = Applied.IGNORED
    if (report.provider, report.error_code or "") in PROVIDER_CONSENT_EVENTS:
        # Recorded before the row fails: the workflow's fallback then sees the
        # address revoked, and a case with no other channel ends declined. (One
        # naming a message this tenant never sent records nothing.)
        event = ProviderEvent(
            provider=report.provider,
            event=str(report.error_code),
            address=report.address,
            message_id=report.message_id,
            provider_message_id=report.provider_message_id,
            at=report.at,
            key=content_key(report.key, "event"),
            raw=report.raw,
        )
        revoked = apply_provider_event(esc, event)
    if report.message_id is None or report.status is DeliveryStatus.UNKNOWN:
        outcome = Applied.IGNORED
    else:
        outcome = _reconcile(esc, report)
    return Applied.APPLIED if revoked is Applied.APPLIED else outcome


def _delivered_after_failure(row: OutboxItem, report: DeliveryReport) -> bool:
    """Whether a delivery is news to a row in flight that kept a failure: the failure
    still fails it, but the message, delivered, must never be sent again."""
    kept = row.reported or {}
    return (
        row.status is OutboxStatus.CLAIMED
        and report.status is DeliveryStatus.DELIVERED
        and kept.get("delivery_status") == DeliveryStatus.FAILED.value
        and not kept.get(WAS_DELIVERED)
    )


def _reconcile(esc: Escalator, report: DeliveryReport) -> Applied:
    assert report.message_id is not None
    try:
        row = esc.outbox.get(report.message_id)
    except NotFound:
        logger.info("%s report for unknown message %r", report.provider, report.message_id)
        return Applied.UNKNOWN_MESSAGE
    # A row whose send is in flight keeps a report that came in meanwhile apart.
    known = str((row.reported or row.result or {}).get("delivery_status") or "")
    if (known in _FINAL or _RANK[report.status.value] <= _RANK.get(known, 0)) and not (
        _delivered_after_failure(row, report)
    ):
        return Applied.DUPLICATE
    esc.outbox.reconcile(
        report.message_id,
        report.status,
        provider_message_id=report.provider_message_id,
        error_code=report.error_code,
        actor=report.provider,
    )
    return Applied.APPLIED


def apply_provider_event(esc: Escalator, event: ProviderEvent) -> Applied:
    """Record what a provider event means for consent (unsubscribe, spam report,
    hard bounce, Twilio 21610); engagement events are ignored."""
    name = event.event.strip().lower()
    if event.address is None or (event.provider, name) not in PROVIDER_CONSENT_EVENTS:
        return Applied.IGNORED
    rule = f"{event.provider}:{name}"
    try:
        records = esc.consent.records(event.address)
    except CorruptRecord:
        # A ledger row edited by hand cannot tell a repeat: recorded again, not lost.
        records = []
    same = [
        r
        for r in records
        if r.evidence.rule == rule and r.evidence.provider_message_id == event.provider_message_id
    ]
    # The same fact again: same time (SendGrid's), or still the address's latest record
    # (Twilio stamps no time). A later re-grant then a new unsubscribe is a new fact.
    if any(r.at == event.at for r in same) or (same and records[-1] is same[-1]):
        return Applied.DUPLICATE
    handoff_id = None
    if event.message_id is not None:
        try:
            handoff_id = esc.outbox.get(event.message_id).handoff_id
        except NotFound:
            # It names a message this tenant never sent: another tenant's (one
            # provider account, one webhook URL), whose ledger it belongs to.
            logger.info("%s %s for unknown message %r", event.provider, name, event.message_id)
            return Applied.UNKNOWN_MESSAGE
    esc.consent.record_provider_event(
        event.provider,
        name,
        event.address,
        at=event.at,
        provider_message_id=event.provider_message_id,
        handoff_id=handoff_id,
    )
    logger.info(
        "%s %s recorded for %s",
        event.provider,
        name,
        redact_address(event.address.kind.value, event.address.value),
    )
    return Applied.APPLIED
