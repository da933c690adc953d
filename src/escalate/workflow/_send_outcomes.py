"""How a private send that did not simply go ends: deferred, refused, failed, retried, paced.

The send path (``_sending.py``) tries a row once; each other way it can end is
settled here, in exactly one settlement, with what the workflow must hear of it
(``SendDeferred`` on a first deferral, ``SendFailed`` on a failure of the case).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from escalate._exceptions import (
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    TransportError,
    UnknownOutcomeError,
)
from escalate._models import Channel, Handoff
from escalate.consent._opt_out import opt_out_records
from escalate.consent._policy import is_keyword_answer
from escalate.consent._records import ConsentRecord, Decision
from escalate.store._protocol import OutboxItem, OutboxStatus
from escalate.workflow._commands import PostPublicReply, SendMessage
from escalate.workflow._inputs import PublicReplyFailed, SendDeferred
from escalate.workflow._provider_chain import NoSlot, NotAllowedNow, ProviderChain, take_slot
from escalate.workflow._reported import failure_of
from escalate.workflow._settles import Settles

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate._pacing import Pacer
    from escalate.consent._policy import ConsentPolicy
    from escalate.retry import RetryPolicy
    from escalate.store._protocol import Store
    from escalate.transports._base import Transport
    from escalate.workflow._definition import Workflow
    from escalate.workflow._report import DispatchReport

__all__ = ["ATTEMPTS_BEFORE", "OPT_IN_ALREADY_REQUESTED", "PROVIDERS_GIVEN_UP", "SendOutcomes"]

log = logging.getLogger("escalate")

#: The refusal of a second opt-in request to one address in one handoff.
OPT_IN_ALREADY_REQUESTED = "opt_in_already_requested"
#: ``OutboxItem.result`` key: the providers the retry policy gave up on for the row.
PROVIDERS_GIVEN_UP = "providers_given_up"
#: ``OutboxItem.result`` key: the attempts spent on providers given up on before the current one.
ATTEMPTS_BEFORE = "attempts_before"


class SendOutcomes(Settles):
    """The ``Engine``'s settlements of a send that was not simply accepted."""

    if TYPE_CHECKING:  # provided by the Engine dataclass and SendPath
        store: Store
        consent: ConsentPolicy
        clock: Clock
        workflow: Workflow
        retry: RetryPolicy
        pacer: Pacer | None

        def _lease_end(self, item: OutboxItem) -> datetime: ...

    def _not_allowed(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        command: SendMessage,
        decision: Decision,
        report: DispatchReport,
        *,
        to: str,
    ) -> None:
        """Consent said no: defer to the window's opening, or refuse with the reason."""
        if decision.not_before is not None:
            deferred = SendDeferred(
                channel=command.channel, template=command.template, not_before=decision.not_before
            )
            # A workflow that cares (the SLA notice, follow-ups timed from when the
            # message leaves) hears of a row's first deferral only: one claimed in
            # quiet hours again (no scheduler ran in the window) would otherwise
            # notify again and push its follow-ups out again, for ever.
            first = "first_deferred_at" not in (item.result or {})
            self._settle(
                item,
                handoff,
                OutboxStatus.PENDING,
                "message.deferred",
                report,
                then=deferred
                if first and handoff is not None and self.workflow.accepts(handoff.state, deferred)
                else None,
                due_at=decision.not_before,
                result=_held(item.result or {}, self.clock.now(), decision.not_before),
                to=to,
                reason=decision.reason,
                not_before=decision.not_before.isoformat(),
                zone_source=decision.zone_source,
            )
            return
        # Not the handoff's failure: a keyword answer that may no longer go, or
        # an opt-in request repeated (a form sent twice): the first one's YES counts.
        not_a_failure = is_keyword_answer(command) or decision.reason == OPT_IN_ALREADY_REQUESTED
        self._settle(
            item,
            handoff,
            OutboxStatus.REFUSED,
            "message.refused",
            report,
            then=None if not_a_failure else failure_of(item, f"consent:{decision.reason}"),
            to=to,
            reason=decision.reason,
            template=command.template,
            records=[record.id for record in decision.records],
        )

    def _send_failed(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        command: SendMessage,
        report: DispatchReport,
        *,
        transport: Transport,
        exc: Exception,
        to: str,
        now: datetime,
    ) -> None:
        """Settle a send the transport raised on, by what the error proves."""
        if isinstance(exc, NoSlot):
            # A provider's own failure led to one whose slot is too far off: nothing
            # was sent, so the row waits, as for the first provider's slot.
            self._put_back(item, handoff, report, provider=exc.provider, budget=exc.budget, to=to)
        elif isinstance(exc, NotAllowedNow):
            # Checked again before a later provider, after its slot: quiet hours
            # began (or a STOP came) meanwhile. Nothing was sent; settled as the
            # first check would have been, so a hold spends no retry.
            self._not_allowed(item, handoff, command, exc.decision, report, to=to)
        elif isinstance(exc, RetryableTransportError):
            # The provider that answered it, when a later one could take the row over.
            spare = None
            if isinstance(transport, ProviderChain) and transport.has_next():
                spare = transport.reached
            self._retry_or_fail(
                item, handoff, exc, report, to=to, channel=command.channel, given_up=spare
            )
        elif isinstance(exc, PermanentTransportError):
            consent: tuple[ConsentRecord, ...] = ()
            if isinstance(exc, RecipientOptedOut):
                # The carrier holds a STOP we never saw: record it as ours, with
                # the row's settlement, so nothing else is sent to this address.
                # As a report of it would (Outbox.reconcile): one builder for both.
                consent = opt_out_records(
                    self.store,
                    self.consent,
                    tenant=item.tenant,
                    address=command.to,
                    channel=command.channel,
                    provider=exc.provider or transport.name,
                    code=exc.code,
                    at=now,
                    handoff_id=item.handoff_id,
                )
            self._fail(
                item,
                handoff,
                report,
                reason=type(exc).__name__,
                consent=consent,
                to=to,
                code=exc.code,
                provider=exc.provider,
            )
        elif isinstance(exc, UnknownOutcomeError):
            # Held, it may have left: like a sent row, it keeps when as its due_at.
            self._settle(
                item, handoff, OutboxStatus.HELD, "message.held", report, to=to,
                reason="unknown_outcome", code=exc.code, reportable=True, due_at=now,
            )  # fmt: skip
        else:
            # A third-party transport's own error: it may have sent, so hold it.
            log.warning(
                "transport %s raised %s; holding outbox row %s",
                transport.name,
                type(exc).__name__,
                item.id,
            )
            self._settle(
                item, handoff, OutboxStatus.HELD, "message.held", report, to=to,
                reason=f"unexpected:{type(exc).__name__}", reportable=True, due_at=now,
            )  # fmt: skip

    def _fail(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        report: DispatchReport,
        *,
        reason: str,
        consent: Sequence[ConsentRecord] = (),
        **data: Any,
    ) -> None:
        """Settle the row as failed and tell its handoff, so the workflow can fall back.

        A keyword answer's failure is recorded but not fed: it is no failure of the case.
        """
        self._settle(
            item,
            handoff,
            OutboxStatus.FAILED,
            "message.failed",
            report,
            consent=consent,
            then=failure_of(item, reason),
            reason=reason,
            **data,
        )

    def _pace(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        transport: Transport,
        report: DispatchReport,
        *,
        to: str,
    ) -> bool:
        """Take the sender's next pacing slot, or put the row back if it is too far off."""
        if self.pacer is None:
            return True
        missed = take_slot(self.pacer, transport, self._lease_end(item), self.clock.now())
        if missed is None:
            return True
        self._put_back(item, handoff, report, provider=transport.name, budget=missed, to=to)
        return False

    def _put_back(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        report: DispatchReport,
        *,
        provider: str,
        budget: float,
        to: str,
    ) -> None:
        """Reschedule a row whose pacing slot lies beyond its budget; it is due when the slot is."""
        now = self.clock.now()
        due_at = now + timedelta(seconds=budget)
        self._settle(
            item,
            handoff,
            OutboxStatus.PENDING,
            "message.paced",
            report,
            due_at=due_at,
            result=_unattempted(item.result or {}, now, due_at),
            to=to,
            provider=provider,
        )

    def _retry_or_fail(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        exc: TransportError,
        report: DispatchReport,
        *,
        to: str,
        channel: Channel | None,
        given_up: Transport | None = None,
    ) -> None:
        """Reschedule after a retryable error, or fail once the policy gives up.

        ``given_up``: the provider that answered, when a later provider of its
        channel can take the row over: the policy giving up on it hands the row
        to them, due now, with the policy's attempts and deadline anew.
        """
        now = self.clock.now()
        # The deadline counts from the first attempt, not from when the row was
        # written (a quiet-hours deferral is not time spent retrying).
        result = item.result or {}
        first = result.get("first_attempt_at")
        first_at = datetime.fromisoformat(first) if isinstance(first, str) else now
        # Nor is a claim put back unsent, by quiet hours or pacing (_unattempted),
        # nor an attempt on a provider given up on before this one.
        deferrals, held = result.get("deferrals", 0), result.get("held_seconds", 0.0)
        before = result.get(ATTEMPTS_BEFORE, 0)
        delay = self.retry.next_delay(
            attempt=max(item.attempts - deferrals - before, 1),
            elapsed=(now - first_at).total_seconds() - held,
            error=exc,
        )
        if delay is None and given_up is not None:
            # A retryable error proves the provider did not take the message, so
            # the next one may send it without any risk of a second copy.
            names = [*(result.get(PROVIDERS_GIVEN_UP) or ()), given_up.name]
            self._settle(
                item,
                handoff,
                OutboxStatus.PENDING,
                "message.retry_scheduled",
                report,
                due_at=now,
                result={
                    **result,
                    "first_attempt_at": now.isoformat(),
                    "held_seconds": 0.0,
                    ATTEMPTS_BEFORE: item.attempts - deferrals,
                    PROVIDERS_GIVEN_UP: names,
                },
                to=to,
                code=exc.code,
                delay_seconds=0,
                provider_given_up=given_up.name,
            )
            return
        if delay is not None:
            self._settle(
                item,
                handoff,
                OutboxStatus.PENDING,
                "message.retry_scheduled",
                report,
                due_at=now + timedelta(seconds=delay),
                result={**result, "first_attempt_at": first_at.isoformat()},
                to=to,
                code=exc.code,
                delay_seconds=round(delay, 3),
            )
        elif channel is not None:
            self._fail(
                item, handoff, report, reason="retries_exhausted", to=to,
                code=exc.code,
            )  # fmt: skip
        else:
            self._public_reply_failed(item, handoff, report, "retries_exhausted", code=exc.code)

    def _public_reply_failed(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        report: DispatchReport,
        reason: str,
        **data: Any,
    ) -> None:
        """Fail a public (or Meta private) reply for good, and tell the workflow."""
        private = isinstance(item.command, PostPublicReply) and item.command.private
        if private:
            data["private"] = True  # as on public_reply.posted, for the SLA report
        self._settle(
            item,
            handoff,
            OutboxStatus.FAILED,
            "public_reply.failed",
            report,
            then=PublicReplyFailed(reason=reason, private=private),
            reason=reason,
            **data,
        )


def _held(result: dict[str, Any], now: datetime, not_before: datetime) -> dict[str, Any]:
    """``_unattempted``, plus when quiet hours first deferred the row."""
    held = _unattempted(result, now, not_before)
    held.setdefault("first_deferred_at", now.isoformat())
    return held


def _unattempted(result: dict[str, Any], now: datetime, due_at: datetime) -> dict[str, Any]:
    """A row's ``result`` once a claim of it was put back unsent, until ``due_at``.

    That claim counted as one of the row's attempts, and the wait, after a
    failed attempt, would count as time spent retrying: a 503 at 20:58 whose
    retry quiet hours held until 08:00 ran out of the default hour with the
    morning's first failure, and a burst put back by pacing seven times failed
    its case at its first 503. ``deferrals`` and ``held_seconds`` are taken off
    both before the retry policy is asked.
    """
    held = {**result, "deferrals": result.get("deferrals", 0) + 1}
    if "first_attempt_at" in result:
        wait = max((due_at - now).total_seconds(), 0.0)
        held["held_seconds"] = result.get("held_seconds", 0.0) + wait
    return held
