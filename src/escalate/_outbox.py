"""``esc.outbox``: inspect the outbox and reconcile what the dispatcher could not settle.

A send whose outcome is unknown (a timeout after the request left, a crashed
worker's claim) is ``held``: never resent by itself, because the provider may
have it. It leaves that state in one of two ways. The provider's delivery-status
callback, keyed by our message id (``OutboundMessage.id`` is the row's id), tells
us what happened (``reconcile``); or an operator decides (``mark_sent``,
``mark_failed``, or ``release`` to send it again, knowingly). Every move is one
commit with its audit event, guarded by the row's status, so duplicate and late
callbacks change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from escalate._exceptions import ConcurrentUpdate, InvalidInput, NotFound
from escalate._messages import DeliveryStatus
from escalate._models import Handoff
from escalate.consent._making import consent_event
from escalate.consent._opt_out import opt_out_records
from escalate.consent._records import ConsentRecord
from escalate.store._protocol import Changes, OutboxItem, OutboxReport, OutboxStatus, OutboxUpdate
from escalate.workflow._commands import PostPublicReply, SendMessage
from escalate.workflow._engine import Engine
from escalate.workflow._events import handoff_event
from escalate.workflow._inputs import WorkflowInput
from escalate.workflow._reported import (
    WAS_DELIVERED,
    delivered_once,
    failure_of,
    failure_reason,
    in_flight_report,
    other_attempt,
    outranks,
    reply_outcome,
)

__all__ = ["Outbox"]

_ACCEPTED = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED})

#: How often ``reconcile`` reads a row again when another writer moved it first.
#: Each refusal means a write that moved the row on committed in between: on a
#: row in flight, another report of a higher rank (at most four: queued, sent,
#: delivered, failed) or its claim ending (settled, or taken over); then a sent
#: row failed. A burst of callbacks for one message (Twilio's queued, sent and
#: undelivered, on three webhook threads) and its send's settlement can refuse
#: one report three times; Twilio does not retry a callback its 5xx lost.
_TRIES = 8


class Outbox:
    """The outbox of one tenant, as ``esc.outbox``."""

    def __init__(self, engine: Engine, *, dispatch_immediately: bool = True) -> None:
        self._engine = engine
        self._store = engine.store
        self._tenant = engine.tenant
        #: Run what a failure's fallback queued at once, as the escalator's verbs do.
        self._dispatch_immediately = dispatch_immediately

    # -- reading --------------------------------------------------------------

    def get(self, item_id: str) -> OutboxItem:
        """One row by id (our message id).

        Raises:
            NotFound: no such row in this tenant.
        """
        item = self._store.get_outbox_item(self._tenant, item_id)
        if item is None:
            raise NotFound(f"no outbox row {item_id!r} in tenant {self._tenant!r}")
        return item

    def held(self, *, limit: int = 100) -> list[OutboxItem]:
        """Rows waiting for reconciliation, oldest first."""
        return self._store.outbox_with_status(self._tenant, OutboxStatus.HELD, limit=limit)

    # -- operator decisions ---------------------------------------------------

    def mark_sent(
        self, item_id: str, *, provider_message_id: str | None = None, actor: str = "operator"
    ) -> OutboxItem:
        """A held row was delivered after all (seen in the provider's console).

        For a held public (or Meta private) reply, ``provider_message_id`` is
        the post's id: the case hears ``PublicReplyPosted``, as when posted.
        """
        item = self._held(item_id)
        result = {**(item.result or {}), "provider_message_id": provider_message_id}
        if isinstance(item.command, PostPublicReply):
            self._settle_reply(item, actor, result, posted=provider_message_id)
        else:
            self._move(item, OutboxStatus.DONE, "message.sent", actor, result, reconciled=True)
        return self.get(item_id)

    def mark_failed(
        self, item_id: str, *, reason: str = "operator", actor: str = "operator"
    ) -> OutboxItem:
        """A held row never reached the customer: fail it, and let the workflow fall back."""
        for _ in range(_TRIES):
            item = self._held(item_id)
            try:
                if isinstance(item.command, PostPublicReply):
                    self._settle_reply(item, actor, item.result, failed=reason)
                else:
                    self._fail(item, reason, "message.failed", actor, item.result, reason=reason)
            except ConcurrentUpdate:
                continue  # the row or its case moved between read and write: look again
            return self.get(item_id)
        raise ConcurrentUpdate(f"outbox row {item_id!r} kept changing")

    def release(self, item_id: str, *, actor: str = "operator") -> OutboxItem:
        """Send a held row again: only when you know the provider does not have it.

        The row remembers it (``result["released"]``): should the provider have
        had the first attempt after all, a report naming that attempt's message
        is recorded but does not settle the second (``reconcile``).
        """
        item = self._held(item_id)
        self._move(
            item,
            OutboxStatus.PENDING,
            "message.released",
            actor,
            {**(item.result or {}), "released": True},
            due_at=self._engine.clock.now(),
        )
        return self.get(item_id)

    # -- provider callbacks ---------------------------------------------------

    def reconcile(
        self,
        message_id: str,
        status: DeliveryStatus | str,
        *,
        provider_message_id: str | None = None,
        error_code: str | None = None,
        actor: str = "provider",
    ) -> OutboxItem:
        """Apply a delivery-status callback for our message ``message_id``.

        An accepted status settles a held row as sent; ``failed`` fails a held or
        sent row and lets the workflow fall back to another channel. A status the
        row already has, or one that arrives out of order for a row that moved on
        (``sent`` after ``delivered``), is recorded as an event at most and
        changes nothing else; so is one naming a provider message other than the
        last attempt's, on a row sent again after a ``release`` (the event has
        ``other_attempt: true``). A status for a row whose send is still in
        flight (claimed) is recorded, and kept on the row for the send's
        settlement to apply (``OutboxItem.reported``).

        Raises:
            NotFound: no such row in this tenant.
            InvalidInput: an unknown status.
        """
        try:
            delivery = DeliveryStatus(status)
        except ValueError:
            raise InvalidInput(f"unknown delivery status {status!r}") from None
        for _ in range(_TRIES):
            item = self.get(message_id)
            result = {**(item.result or {}), "delivery_status": delivery.value}
            if provider_message_id is not None:
                result["provider_message_id"] = provider_message_id
            if error_code is not None:
                result["error_code"] = error_code
            data: dict[str, Any] = {"delivery_status": delivery.value, "error_code": error_code}
            # A row in flight knows what a report that came in meanwhile said.
            known = (item.reported or item.result or {}).get("delivery_status")
            try:
                if other_attempt(item.result, provider_message_id):
                    # The attempt a release replaced: its fate is not this one's.
                    self._record(item, "message.status", actor, other_attempt=True, **data)
                elif isinstance(item.command, PostPublicReply) and item.status is (
                    OutboxStatus.HELD
                ):
                    # Posted or not, as mark_sent/mark_failed: the case hears it.
                    failed = delivery is DeliveryStatus.FAILED
                    why = failure_reason(actor, error_code) if failed else None
                    if failed or delivery in _ACCEPTED:
                        self._settle_reply(
                            item, actor, result, posted=provider_message_id, failed=why
                        )
                    else:
                        self._record(item, "message.status", actor, **data)
                elif item.status is OutboxStatus.HELD and delivery in _ACCEPTED:
                    self._move(
                        item, OutboxStatus.DONE, "message.sent", actor, result, reconciled=True
                    )
                elif delivery is DeliveryStatus.FAILED and item.status in (
                    OutboxStatus.HELD,
                    OutboxStatus.DONE,
                ):
                    if delivered_once(item.result):
                        result[WAS_DELIVERED] = True  # so it was never sent again
                    # A carrier opt-out (Twilio 21610) is the address's revoke, as
                    # when the send itself raised RecipientOptedOut.
                    reason = failure_reason(actor, error_code)
                    consent = self._opt_out(item, actor, error_code, provider_message_id)
                    self._fail(
                        item, reason, "message.undelivered", actor, result, consent=consent, **data
                    )
                elif item.status is OutboxStatus.DONE and outranks(delivery.value, known):
                    self._move(item, OutboxStatus.DONE, "message.status", actor, result, **data)
                elif item.status is OutboxStatus.DONE and known != delivery.value:
                    # Out of order ("sent" after "delivered"): it unsays nothing.
                    self._record(item, "message.status", actor, **data)
                elif item.status is OutboxStatus.DONE or known == delivery.value:
                    pass  # a duplicate callback
                elif item.status is OutboxStatus.CLAIMED and delivery is not DeliveryStatus.UNKNOWN:
                    # In flight: the callback beat the provider's answer to our
                    # send. The row keeps the report, and the send's settlement
                    # applies it (workflow/_reported.py).
                    report = in_flight_report(
                        item.reported,
                        delivery,
                        error_code=error_code,
                        provider_message_id=provider_message_id,
                        actor=actor,
                    )
                    keep = OutboxReport(item.id, item.claimed_by or "", report, item.reported)
                    self._record(item, "message.status", actor, keep=keep, **data)
                else:
                    # Failed, refused or pending: keep the fact, move nothing.
                    self._record(item, "message.status", actor, **data)
                return self.get(message_id)
            except ConcurrentUpdate:
                continue  # the row moved between read and write: look again
        raise ConcurrentUpdate(f"outbox row {message_id!r} kept changing")

    # -- plumbing -------------------------------------------------------------

    def _held(self, item_id: str) -> OutboxItem:
        item = self.get(item_id)
        if item.status is not OutboxStatus.HELD:
            raise InvalidInput(f"outbox row {item_id!r} is {item.status.value}, not held")
        return item

    def _handoff(self, item: OutboxItem) -> Handoff | OutboxItem:
        # A row with no handoff (a keyword answer) is its own audit subject.
        if item.handoff_id is None:
            return item
        handoff = self._store.get_handoff(item.tenant, item.handoff_id)
        if handoff is None:  # pragma: no cover - rows are written with their handoff
            raise NotFound(f"no handoff {item.handoff_id!r}")
        return handoff

    def _opt_out(
        self,
        item: OutboxItem,
        provider: str,
        error_code: str | None,
        provider_message_id: str | None,
    ) -> tuple[ConsentRecord, ...]:
        """The revoke a carrier opt-out report (Twilio 21610) stands for, as when the
        send itself raised ``RecipientOptedOut`` (the same builder)."""
        command = item.command
        if (
            not isinstance(command, SendMessage)
            or failure_reason(provider, error_code) != "RecipientOptedOut"
        ):
            return ()
        return opt_out_records(
            self._store,
            self._engine.consent,
            tenant=item.tenant,
            address=command.to,
            channel=command.channel,
            provider=provider,
            code=error_code,
            at=self._engine.clock.now(),
            handoff_id=item.handoff_id,
            provider_message_id=provider_message_id,
        )

    def _fail(
        self,
        item: OutboxItem,
        why: str,
        kind: str,
        actor: str,
        result: dict[str, Any] | None,
        *,
        consent: Sequence[ConsentRecord] = (),
        **data: Any,
    ) -> None:
        """Fail ``item`` and feed its case the failure (``why``), in one commit.

        Apart, a crash (or a refused write) between them left the row failed and
        the case never told: the provider's retry of the callback then found the
        row failed, took it for a duplicate, and the case stayed on a dead channel.

        Raises:
            ConcurrentUpdate: the row moved on meanwhile (nothing was written).
        """
        failed = failure_of(item, why)
        settlement = self._moving(item, OutboxStatus.FAILED, kind, actor, result, **data)
        if consent:
            settlement = replace(
                settlement,
                consent=tuple(consent),
                events=(*settlement.events, *(consent_event(r) for r in consent)),
            )
        # A keyword answer (HELP, STOP's confirmation) failing is no failure of a case.
        self._commit_telling(item, settlement, failed)

    def _settle_reply(
        self,
        item: OutboxItem,
        actor: str,
        result: dict[str, Any] | None,
        *,
        posted: str | None = None,
        failed: str | None = None,
    ) -> None:
        """Settle a held reply as posted (unless ``failed``) and feed its case the outcome,
        as the dispatcher would: as ``message.sent``/``failed``, fed nothing, the
        case stayed ``acknowledged`` and the helpdesk never heard of a failure.

        Raises:
            ConcurrentUpdate: the row moved on meanwhile (nothing was written).
        """
        status, kind, data, then = reply_outcome(item, posted, failed)
        self._commit_telling(item, self._moving(item, status, kind, actor, result, **data), then)

    def _commit_telling(
        self, item: OutboxItem, settlement: Changes, then: WorkflowInput | None
    ) -> None:
        """Commit ``settlement``, feeding ``then`` to ``item``'s case in the same commit.

        Raises:
            ConcurrentUpdate: the row or its case moved on meanwhile (nothing was written).
        """
        if then is None or item.handoff_id is None:
            self._store.commit(settlement)
            return
        if not self._engine.feed(item.handoff_id, then, settlement=settlement):
            raise ConcurrentUpdate(f"outbox row {item.id!r} moved on")
        if self._dispatch_immediately:
            # A fallback's intro goes out now, not at the next run_due(), and
            # the agent's message after it once it has.
            self._engine.dispatch_handoff(item.handoff_id)

    def _move(
        self,
        item: OutboxItem,
        status: OutboxStatus,
        kind: str,
        actor: str,
        result: dict[str, Any] | None,
        *,
        due_at: datetime | None = None,
        **data: Any,
    ) -> None:
        self._store.commit(self._moving(item, status, kind, actor, result, due_at=due_at, **data))

    def _moving(
        self,
        item: OutboxItem,
        status: OutboxStatus,
        kind: str,
        actor: str,
        result: dict[str, Any] | None,
        *,
        due_at: datetime | None = None,
        **data: Any,
    ) -> Changes:
        """The commit moving ``item`` from its status to ``status``, with its event."""
        update = OutboxUpdate(
            item_id=item.id, status=status, result=result, due_at=due_at, from_status=item.status
        )
        if kind == "message.sent" and isinstance(item.command, SendMessage):
            # As a dispatched send records it: reporting tells keyword answers apart by it.
            data.setdefault("template", item.command.template)
        event = handoff_event(
            self._handoff(item), kind, self._engine.clock.now(), actor, outbox_id=item.id, **data
        )
        return Changes(outbox_updates=(update,), events=(event,))

    def _record(
        self,
        item: OutboxItem,
        kind: str,
        actor: str,
        *,
        keep: OutboxReport | None = None,
        **data: Any,
    ) -> None:
        event = handoff_event(
            self._handoff(item), kind, self._engine.clock.now(), actor, outbox_id=item.id, **data
        )
        self._store.commit(Changes(events=(event,), outbox_reports=(keep,) if keep else ()))

    def __repr__(self) -> str:
        return f"Outbox(tenant={self._tenant!r})"
