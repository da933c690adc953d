"""Settle a send by the delivery report that came in while it was in flight.

A fast provider's status callback can reach us before its answer to our send
call does. The callback then finds the row still claimed, so
``esc.outbox.reconcile`` keeps the report on the row (``OutboxItem.reported``)
as well as recording it as a ``message.status`` event. The send's settlement
as sent or held is written with ``check_reported``: on a row with no report it
is the one ``UPDATE`` it always was (no read, no query more), and on a row with
one the store refuses it. The row is then settled as it would have been had the
report come after the send's own outcome, in one commit with the workflow's input:

| the send   | the report in flight    | row    | then, after the send's own event        |
| ---------- | ----------------------- | ------ | --------------------------------------- |
| accepted   | failed                  | failed | ``message.undelivered``; SendFailed     |
| accepted   | queued, sent, delivered | done   | (the result keeps the status)           |
| held       | queued, sent, delivered | done   | ``message.sent`` (``reconciled: true``) |
| held       | failed                  | failed | ``message.undelivered``; SendFailed     |

Every other settlement (a retry, a refusal, a failure the transport raised)
does not check, and clears the report: what the send itself proved stands; so
does an accepted send's, over a report naming another provider message than
its own on a row an operator released (``other_attempt``: the first attempt's).
A failure kept over a delivery remembers it (``was_delivered``): the failed
message is then not fed to the workflow to be sent again (``failure_of``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from escalate._exceptions import ConcurrentUpdate
from escalate._ids import new_id
from escalate._messages import DeliveryStatus
from escalate._models import Event
from escalate.consent._making import consent_event
from escalate.consent._opt_out import opt_out_records
from escalate.consent._policy import is_keyword_answer
from escalate.consent._provider_events import PROVIDER_CONSENT_EVENTS
from escalate.consent._records import ConsentAction
from escalate.store._protocol import Changes, OutboxItem, OutboxStatus, OutboxUpdate
from escalate.workflow._commands import PostPublicReply, SendMessage
from escalate.workflow._inputs import PublicReplyFailed, PublicReplyPosted, SendFailed
from escalate.workflow._report import REPORT_COUNTERS
from escalate.workflow._transition_keys import queued_version

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate._models import Handoff
    from escalate.consent._policy import ConsentPolicy
    from escalate.consent._records import ConsentRecord
    from escalate.store._protocol import Store
    from escalate.workflow._inputs import WorkflowInput

__all__ = [
    "WAS_DELIVERED",
    "ReportedSettling",
    "delivered_once",
    "failure_of",
    "failure_reason",
    "in_flight_report",
    "other_attempt",
    "outranks",
    "reply_outcome",
]

log = logging.getLogger("escalate")

#: How much a report says; a row in flight keeps the one that says most. A
#: failure outranks a delivery, as ``reconcile`` fails even a delivered row.
_RANK = {"queued": 1, "sent": 2, "delivered": 3, "failed": 4}
#: Kept with a failure reported with, or before, a delivery: the message reached
#: the customer once, so it is never sent again (``failure_of``).
WAS_DELIVERED = "was_delivered"
_DELIVERED = DeliveryStatus.DELIVERED.value


def outranks(delivery: str, known: object) -> bool:
    """Whether a report of ``delivery`` says more than the ``known`` status does."""
    return _RANK.get(delivery, 0) > _RANK.get(str(known), 0)


def delivered_once(report: Mapping[str, Any] | None) -> bool:
    """Whether a row's result or kept report says the message was delivered at some point."""
    return report is not None and (
        report.get("delivery_status") == _DELIVERED or bool(report.get(WAS_DELIVERED))
    )


def in_flight_report(
    previous: Mapping[str, Any] | None,
    delivery: DeliveryStatus,
    *,
    error_code: str | None,
    provider_message_id: str | None,
    actor: str,
) -> dict[str, Any]:
    """The report a claimed row keeps: this one, unless ``previous`` says as much or more.

    A failure outranks a delivery, but does not erase it: carriers report
    delivered and then failed, and webhooks arrive out of order. The failure
    kept remembers it (``was_delivered``).
    """
    report: dict[str, Any] = {
        "delivery_status": delivery.value,
        "error_code": error_code,
        "provider_message_id": provider_message_id,
        "actor": actor,
    }
    if previous is not None and not outranks(delivery.value, previous.get("delivery_status")):
        report = dict(previous)
    if report["delivery_status"] != _DELIVERED and (
        delivery is DeliveryStatus.DELIVERED or delivered_once(previous)
    ):
        report[WAS_DELIVERED] = True
    return report


def other_attempt(result: Mapping[str, Any] | None, provider_message_id: str | None) -> bool:
    """Whether a report names another attempt at the row's message than its last one.

    Only a row an operator released (``Outbox.release``: the first attempt's
    outcome was unknown) was attempted twice with the provider perhaps holding
    both. A report naming a provider message id other than the one the last
    attempt got is the earlier attempt's. SendGrid's event id extends the id
    its API answered with (``<id>.filter...``): that is the same message.
    """
    if provider_message_id is None or not result or not result.get("released"):
        return False
    current = result.get("provider_message_id")
    if not isinstance(current, str) or not current:
        return False
    return provider_message_id != current and not provider_message_id.startswith(current + ".")


def failure_reason(actor: str, error_code: str | None) -> str:
    """What a failed delivery tells the workflow: a carrier's opt-out (Twilio 21610) is
    ``RecipientOptedOut``, as when the send itself met it; anything else ``undelivered``."""
    rule = PROVIDER_CONSENT_EVENTS.get((actor, error_code or ""))
    return "RecipientOptedOut" if rule and rule[0] is ConsentAction.REVOKE else "undelivered"


def reply_outcome(
    item: OutboxItem, posted: str | None, failed: str | None
) -> tuple[OutboxStatus, str, dict[str, Any], PublicReplyPosted | PublicReplyFailed]:
    """How a held reply settles, posted (as ``posted``, the post's id) unless ``failed``:
    its status, event kind and data, and the input its case is fed, as the
    dispatcher's would be (``private`` for a Meta private reply, as the SLA
    report needs)."""
    command = item.command
    assert isinstance(command, PostPublicReply)
    data: dict[str, Any] = {"private": True} if command.private else {}
    if failed is not None:
        data["reason"] = failed
        then = PublicReplyFailed(reason=failed, private=command.private)
        return OutboxStatus.FAILED, "public_reply.failed", data, then
    data |= {"post_id": posted, "reconciled": True}
    # An operator who did not find the post's id still settles it.
    found = PublicReplyPosted(post_id=posted or item.id, private=command.private)
    return OutboxStatus.DONE, "public_reply.posted", data, found


def failure_of(item: OutboxItem, reason: str) -> SendFailed | None:
    """The ``SendFailed`` a failed row feeds its handoff; None for a keyword answer's
    (HELP, a STOP's confirmation: it belongs to the address, not to a case).

    It carries the message as queued, so the workflow can send it again on
    another channel (the default one does an agent's), unless a delivery
    report said it was delivered, even one a failure outranked (kept in flight
    or settled): a customer never gets one text twice.
    """
    command = item.command
    if not isinstance(command, SendMessage) or item.handoff_id is None:
        return None
    if is_keyword_answer(command):
        return None
    delivered = delivered_once(item.result) or delivered_once(item.reported)
    return SendFailed(
        channel=command.channel,
        reason=reason,
        message=None if delivered else command,
        queued_version=queued_version(item),
    )


@dataclass(frozen=True)
class _Reported:
    """A refused settlement made over by the row's report."""

    update: OutboxUpdate
    events: tuple[Event, ...]
    then: SendFailed | None
    counter: str


def _reported(row: OutboxItem, update: OutboxUpdate, events: Sequence[Event]) -> _Reported:
    """The settlement ``update`` and ``events`` become on ``row``, given the report it carries."""
    counter = REPORT_COUNTERS[events[0].kind]
    report = row.reported
    if report is None:  # refused for no report (none can clear it but us): as built
        return _Reported(update, tuple(events), None, counter)
    if other_attempt(update.result, report.get("provider_message_id")):
        # About the attempt a release replaced (recorded when it came in): what
        # this attempt's send proved stands.
        return _Reported(replace(update, reported=dict(report)), tuple(events), None, counter)
    delivery = str(report.get("delivery_status"))
    error_code, actor = report.get("error_code"), str(report.get("actor") or "provider")
    result = {**(update.result or {}), "delivery_status": delivery}
    if report.get("provider_message_id") is not None:
        result["provider_message_id"] = report["provider_message_id"]
    if error_code is not None:
        result["error_code"] = error_code
    if report.get(WAS_DELIVERED):
        result[WAS_DELIVERED] = True
    made = replace(update, result=result, reported=dict(report))
    subject = events[0]  # the send's own event: the same handoff, contact and tenant
    data: dict[str, Any] = {"outbox_id": row.id}
    if delivery == DeliveryStatus.FAILED.value:
        kind, status, counter = "message.undelivered", OutboxStatus.FAILED, "failed"
        data.update(delivery_status=delivery, error_code=error_code)
        then = failure_of(row, failure_reason(actor, error_code))
    elif update.status is OutboxStatus.HELD:
        kind, status, counter, then = "message.sent", OutboxStatus.DONE, "sent", None
        data.update(reconciled=True)
        if isinstance(row.command, SendMessage):
            # As every message.sent records it: reporting tells the answers to a
            # customer's HELP or STOP from the case's own messages by it.
            data.update(template=row.command.template)
    else:  # accepted, and reported accepted: the result keeps what the report said
        return _Reported(made, tuple(events), None, counter)
    event = Event(
        id=new_id("ev"),
        tenant=subject.tenant,
        kind=kind,
        at=subject.at,
        handoff_id=subject.handoff_id,
        contact_id=subject.contact_id,
        actor=actor,
        data=data,
    )
    return _Reported(replace(made, status=status), (*events, event), then, counter)


class ReportedSettling:
    """The ``Engine``'s settling of sends whose outcome a delivery report may decide."""

    if TYPE_CHECKING:  # provided by the Engine dataclass
        store: Store
        clock: Clock
        consent: ConsentPolicy
        tenant: str

        def feed(
            self,
            handoff_id: str,
            event: WorkflowInput,
            *,
            fire_timers: Sequence[str] = (),
            settlement: Changes | None = None,
            known: Handoff | None = None,
        ) -> bool: ...

    def _settle_reportable(self, settlement: Changes) -> str | None:
        """Commit a send's settlement as sent or held (``check_reported``), or else as the
        report that came in while it was in flight says; the counter it counts towards,
        or None when the row was taken over."""
        try:
            self.store.commit(settlement)
        except ConcurrentUpdate:
            (update,) = settlement.outbox_updates
            settled = self._settle_refused(update, settlement.events)
            return None if settled is None else settled[0]
        return REPORT_COUNTERS[settlement.events[0].kind]

    def _settle_refused(
        self, update: OutboxUpdate, events: Sequence[Event]
    ) -> tuple[str, bool] | None:
        """Settle a row whose checked settlement the store refused (``Settler``'s hook too).

        Returns the counter it counted towards and whether it fed the handoff an
        input, or None when the row is no longer this claim's.
        """
        warned = False  # feed() warns when it finds the lease taken over
        for _ in range(3):
            row = self.store.get_outbox_item(self.tenant, update.item_id)
            if (
                row is None
                or row.status is not OutboxStatus.CLAIMED
                or row.claimed_by != update.claimed_by
            ):
                if not warned:
                    log.warning("outbox row %s was taken over by another worker", update.item_id)
                return None
            made = _reported(row, update, events)
            consent = self._reported_opt_out(row, made.update)
            settlement = Changes(
                outbox_updates=(made.update,),
                events=(*made.events, *(consent_event(record) for record in consent)),
                consent=consent,
            )
            if made.then is not None and row.handoff_id is not None:
                if self.feed(row.handoff_id, made.then, settlement=settlement):
                    return made.counter, True
                warned = True
                continue  # taken over, or another report came in: look again
            try:
                self.store.commit(settlement)
            except ConcurrentUpdate:
                warned = False
                continue
            return made.counter, False
        log.warning(
            "outbox row %s kept getting delivery reports; left claimed until its lease lapses",
            update.item_id,
        )
        return None

    def _reported_opt_out(self, row: OutboxItem, update: OutboxUpdate) -> tuple[ConsentRecord, ...]:
        """The revoke a carrier opt-out reported in flight stands for, as ``reconcile``
        records it for a row no longer in flight (the same builder)."""
        report, command = row.reported or {}, row.command
        actor, code = str(report.get("actor") or "provider"), report.get("error_code")
        if (
            update.status is not OutboxStatus.FAILED
            or not isinstance(command, SendMessage)
            or failure_reason(actor, code) != "RecipientOptedOut"
        ):
            return ()
        return opt_out_records(
            self.store,
            self.consent,
            tenant=row.tenant,
            address=command.to,
            channel=command.channel,
            provider=actor,
            code=code,
            at=self.clock.now(),
            handoff_id=row.handoff_id,
            provider_message_id=report.get("provider_message_id"),
        )
