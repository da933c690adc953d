"""The engine's send path: one claimed outbox row, from consent check to settled result.

Kept apart from the engine's transitions (``_engine.py``) and claiming
(``_dispatching.py``): this is where a message meets the outside world, so every
way that can end (sent, deferred, refused, retried, failed, held) is spelled out
here, and each ends in exactly one settlement of the row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from escalate._exceptions import (
    CorruptRecord,
    RetryableTransportError,
    TransportError,
    UnknownOutcomeError,
)
from escalate._messages import OutboundMessage
from escalate._models import Channel, Handoff
from escalate._redact import redact_address
from escalate.consent._ledger import decide_from_records
from escalate.consent._ledger_service import consent_facts, known_zone
from escalate.consent._policy import ConsentPolicy, is_keyword_answer
from escalate.consent._records import (
    Decision,
)
from escalate.sms import segments
from escalate.store._protocol import OutboxItem, OutboxStatus
from escalate.workflow._commands import PostPublicReply, SendMessage
from escalate.workflow._inputs import PublicReplyPosted
from escalate.workflow._invite import within_private_reply_window
from escalate.workflow._provider_chain import Check, ProviderChain
from escalate.workflow._recipient import (
    ADDRESS_UNLINKED,
    UNREAD,
    Owner,
    address_unlinked,
    quiet_hours_apply,
    read_owner,
)
from escalate.workflow._reported import failure_of
from escalate.workflow._send_outcomes import (
    OPT_IN_ALREADY_REQUESTED,
    PROVIDERS_GIVEN_UP,
    SendOutcomes,
)
from escalate.workflow._transition_keys import answered_before_sent, queued_before_close

if TYPE_CHECKING:
    from escalate.social._publisher import SocialPublisher
    from escalate.store._protocol import Store
    from escalate.transports._base import Transport
    from escalate.workflow._report import DispatchReport

__all__ = ["SendPath"]

log = logging.getLogger("escalate")

#: How long after its claim a send reads its handoff again before it goes.
#: Sooner, the chunk's read is as fresh as another read would be; later, the
#: case may have closed while the row waited for a slot or a worker.
RECHECK_AFTER = timedelta(seconds=1)


class SendPath(SendOutcomes):
    """The ``Engine``'s methods that execute a claimed ``SendMessage`` or ``PostPublicReply``."""

    if TYPE_CHECKING:  # provided by the Engine dataclass (``_settle`` by SendOutcomes)
        store: Store
        transports: Sequence[Transport]
        publisher: SocialPublisher | None
        consent: ConsentPolicy
        lease: timedelta

    def _providers(self, channel: Channel, item: OutboxItem) -> list[Transport]:
        """The configured transports serving ``channel``, in the configured order, less
        those the retry policy gave up on for ``item`` (a later one took over)."""
        given_up = (item.result or {}).get(PROVIDERS_GIVEN_UP) or ()
        return [t for t in self.transports if channel in t.channels and t.name not in given_up]

    def _chain(self, item: OutboxItem, providers: Sequence[Transport], check: Check) -> Transport:
        """The channel's one provider, or all in order (later ones ``check`` consent again)."""
        if len(providers) == 1:
            return providers[0]
        return ProviderChain(providers, self.pacer, self.clock, self._lease_end(item), check)

    def _lease_end(self, item: OutboxItem) -> datetime:
        """When ``item``'s claim lapses (a row claimed without a lease: one lease from now)."""
        return item.lease_until or self.clock.now() + self.lease

    def consent_decision(
        self, item: OutboxItem, command: SendMessage, now: datetime, *, owner: Owner = UNREAD
    ) -> Decision:
        """The full consent decision for one queued send (quiet hours included).

        ``owner``: the contact holding the address, when the caller read it already.
        """
        if command.opt_in_request and self._opt_in_already_requested(item, command):
            return Decision(allowed=False, reason=OPT_IN_ALREADY_REQUESTED)
        return decide_from_records(
            consent_facts(self.store, item.tenant, command.to, self.consent),
            command.purpose,
            now,
            address=command.to,
            channel=command.channel,
            policy=self.consent,
            template=command.template,
            requested_at=item.created_at,
            known_zone=self._known_zone(item, command, owner),
            confirms=command.confirms,
            opt_in_request=command.opt_in_request,
        )

    def _known_zone(self, item: OutboxItem, command: SendMessage, owner: Owner) -> str | None:
        # The contact's zone only matters where quiet hours apply; skipping the
        # lookup elsewhere saves a contact read on every send.
        if not quiet_hours_apply(self.consent, command):
            return None
        if owner is UNREAD:
            return known_zone(self.store, item.tenant, command.to)
        return owner.time_zone if owner is not None else None

    def _opt_in_already_requested(self, item: OutboxItem, command: SendMessage) -> bool:
        """Whether another double opt-in request to this address in this handoff was attempted.

        The request is the one text allowed before a grant, so it must never go
        twice: any other request row that left pending (sent, held, claimed or
        failed) counts, whatever the ledger says.
        """
        return any(
            other.id != item.id
            and isinstance(other.command, SendMessage)
            and other.command.opt_in_request
            and other.command.to == command.to
            and other.status is not OutboxStatus.PENDING
            for other in self.store.outbox(item.tenant, handoff_id=item.handoff_id)
        )

    # -- a private message --------------------------------------------------------

    def _send(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        command: SendMessage,
        report: DispatchReport,
    ) -> None:
        to = f"{command.to.kind.value}:{redact_address(command.to.kind.value, command.to.value)}"
        if item.stale_claim:
            # A previous worker claimed this send and never settled it: the
            # provider may have it. Hold it rather than risk a second text.
            self._settle(
                item, handoff, OutboxStatus.HELD, "message.held", report, to=to,
                reason="lease_expired", reportable=True,
            )  # fmt: skip
            return
        if self._cancelled(item, handoff, command, report, to=to):
            return
        providers = self._providers(command.channel, item)
        if providers and not self._pace(item, handoff, providers[0], report, to=to):
            return
        if handoff is not None and self._waited(item):
            # A pacing slot, a busy pool or a slow send before it kept this row
            # since its chunk's handoffs were read: an agent may have closed the
            # case, or the customer answered, meanwhile. One read narrows that
            # window to this instant.
            handoff = self.store.get_handoff(item.tenant, handoff.id) or handoff
            if self._cancelled(item, handoff, command, report, to=to):
                return
        # Read after the pacing slot, like consent: an unlink made while this
        # worker waited for its slot counts.
        owner = read_owner(self.store, self.consent, item, handoff, command)
        if address_unlinked(self.store, item, handoff, command, owner):
            # "This isn't me": nothing more about the case goes there, and its
            # workflow hears it as a refused send (another channel, or the end).
            self._settle(
                item, handoff, OutboxStatus.CANCELLED, "message.cancelled", report, to=to,
                reason=ADDRESS_UNLINKED, template=command.template,
                then=failure_of(item, ADDRESS_UNLINKED),
            )  # fmt: skip
            return
        now = self.clock.now()
        decision = self.consent_decision(item, command, now, owner=owner)
        if not decision.allowed:
            self._not_allowed(item, handoff, command, decision, report, to=to)
            return
        if not providers:
            self._fail(item, handoff, report, reason="no_transport", to=to)
            return
        transport = self._chain(
            item, providers, lambda at: self.consent_decision(item, command, at, owner=owner)
        )
        # Providers bill per segment; record what this body costs on every SMS.
        sms = segments(command.body) if command.channel is Channel.SMS else None
        size: dict[str, Any] = (
            {"encoding": sms.encoding.value, "segments": sms.segments, "units": sms.units}
            if sms
            else {}
        )
        try:
            result = transport.send(_outbound(item, handoff, command))
        except CorruptRecord:
            # A later provider's consent check (``_provider_chain``) met a record that
            # no longer reads: nothing was sent, and the row is held as for the first
            # check's (``_unreadable``), not as a transport's unknown error.
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified in _send_failed
            self._send_failed(
                item, handoff, command, report, transport=transport, exc=exc, to=to, now=now
            )
            return
        self._settle(
            item,
            handoff,
            OutboxStatus.DONE,
            "message.sent",
            report,
            # Nothing below waits on this row being marked sent: commit it behind.
            behind=True,
            # Unless the provider's callback beat its answer: see _reported.
            reportable=True,
            # A sent row keeps when it left as its due_at: a reminder counts from then.
            due_at=now,
            result={
                "provider": result.provider,
                "provider_message_id": result.provider_message_id,
                **size,
                # A released row's reports may name the attempt before this one.
                **({"released": True} if (item.result or {}).get("released") else {}),
            },
            to=to,
            channel=command.channel.value,
            # Which text it was: reporting tells a case's own messages from the
            # answers to a customer's HELP or STOP, which are no private handoff.
            template=command.template,
            provider=result.provider,
            provider_message_id=result.provider_message_id,
            **size,
        )

    def _cancelled(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        command: SendMessage,
        report: DispatchReport,
        *,
        to: str,
    ) -> bool:
        """Settle ``item`` cancelled if what it was queued for is over; whether it was.

        Held by quiet hours, or waiting for a retry, when the case closed: the
        customer is not texted about a closed case (a STOP's confirmation is a
        keyword answer: it goes whatever the case). Its workflow hears it as a
        failure, if a step of the closed state takes one (the default one tells
        the helpdesk of an agent's message that never went). A follow-up the
        customer answered before it left is not sent after the answer it asked for.
        """
        if handoff is None:
            return False
        then = None
        if queued_before_close(item, handoff) and not is_keyword_answer(command):
            reason = "handoff_closed"
            failed = failure_of(item, reason)
            if failed is not None and self.workflow.accepts(handoff.state, failed):
                then = failed
        elif answered_before_sent(item, handoff):
            reason = "customer_replied"
        else:
            return False
        self._settle(
            item, handoff, OutboxStatus.CANCELLED, "message.cancelled", report, to=to,
            reason=reason, template=command.template, then=then,
        )  # fmt: skip
        return True

    def _waited(self, item: OutboxItem) -> bool:
        """Whether ``item`` was claimed at least ``RECHECK_AFTER`` ago."""
        if item.lease_until is None:
            return False
        return self.clock.now() - (item.lease_until - self.lease) >= RECHECK_AFTER

    # -- a public reply -----------------------------------------------------------

    def _post(
        self, item: OutboxItem, handoff: Handoff, command: PostPublicReply, report: DispatchReport
    ) -> None:
        if item.stale_claim:
            # As for a send: the crashed worker may have posted it; never post twice.
            self._settle(
                item, handoff, OutboxStatus.HELD, "public_reply.held", report,
                reason="lease_expired",
            )  # fmt: skip
            return
        if command.private and queued_before_close(item, handoff):
            # A private message like any other: one waiting for a retry when the
            # case closed would ask for a phone about a case that is over (and
            # spend the comment's one private reply). The public reply still goes.
            self._settle(
                item, handoff, OutboxStatus.CANCELLED, "message.cancelled", report,
                reason="handoff_closed", private=True,
            )  # fmt: skip
            return
        if self.publisher is None:
            self._public_reply_failed(item, handoff, report, "no_publisher")
            return
        # A Meta private reply needs the publisher's optional private_reply verb.
        publish = (
            getattr(self.publisher, "private_reply", None)
            if command.private
            else self.publisher.reply
        )
        if publish is None:
            self._public_reply_failed(item, handoff, report, "no_private_reply")
            return
        now = self.clock.now()
        if command.private and not within_private_reply_window(handoff.thread, now):
            # Decided inside Meta's 7 days, but a retry (or a backlog) reached
            # past them: Meta would refuse it, so it is not attempted.
            self._public_reply_failed(item, handoff, report, "private_reply_window_closed")
            return
        text = command.text_at(now)  # an off-hours "back at 09:00" posted at 09:20: stale
        try:
            published = publish(handoff.thread, text)
        except RetryableTransportError as exc:
            self._retry_or_fail(item, handoff, exc, report, to="public", channel=None)
            return
        except UnknownOutcomeError:
            # It may be on the thread: failed, the helpdesk was told to answer
            # again (and a second private reply, Meta refuses). Held, as a send.
            held: dict[str, Any] = {"private": True} if command.private else {}
            self._settle(
                item, handoff, OutboxStatus.HELD, "public_reply.held", report,
                reason="unknown_outcome", **held,
            )  # fmt: skip
            return
        except TransportError as exc:
            self._public_reply_failed(item, handoff, report, type(exc).__name__)
            return
        # Reporting times the first public response by this event: a private
        # reply, which only the author sees, must be told apart from it.
        private: dict[str, Any] = {"private": True} if command.private else {}
        if text is not command.text:
            private["later_text"] = True
        self._settle(
            item,
            handoff,
            OutboxStatus.DONE,
            "public_reply.posted",
            report,
            result={"post_id": published.post_id},
            then=PublicReplyPosted(post_id=published.post_id, private=command.private),
            post_id=published.post_id,
            **private,
        )


def _outbound(item: OutboxItem, handoff: Handoff | None, command: SendMessage) -> OutboundMessage:
    """The message a transport sends for one outbox row; its id is the row's, for callbacks."""
    return OutboundMessage(
        id=item.id,
        idempotency_key=item.idempotency_key,
        tenant=item.tenant,
        channel=command.channel,
        to=command.to,
        body=command.body,
        subject=command.subject,
        reference=handoff.reference if handoff else None,
        handoff_id=handoff.id if handoff else None,
        headers=(
            {**command.headers, "Reply-To": command.reply_to}
            if command.reply_to
            else dict(command.headers)
        ),
    )
