"""What an inbound reply does to consent: records, audit events, and the one answer.

``plan_reply`` is pure: given the message, the address's consent facts and the
open handoff (if any), it returns what to write. The ``Escalator`` commits it in
one transaction and dispatches the answer through the outbox.

- opt-out (a keyword or free text): one revoke for every purpose; if the address
  was not already stopped, one confirmation text (SMS/WhatsApp), which the
  dispatcher only sends within ``reply_window`` of the revoke. A repeated STOP
  records again but sends nothing. With ``free_text=review``, a free-text
  revocation records a ``consent.review_requested`` event instead.
- opt-in: ``YES`` to a pending double opt-in records a confirmed grant tied to
  that request (the workflow then continues); ``START`` re-grants the purposes
  granted before (transactional if none) and sends one confirmation.
- help: one help text, unless the address is stopped (then nothing but an event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from escalate._ids import new_id
from escalate._messages import InboundMessage
from escalate._models import Channel, Event, Handoff
from escalate.consent._keywords import CONFIRMING_RULES, Classification, ReplyIntent, classify
from escalate.consent._making import consent_event, make_consent_record
from escalate.consent._policy import (
    HELP_TEMPLATE,
    OPT_IN_CONFIRMATION_TEMPLATE,
    OPT_OUT_CONFIRMATION_TEMPLATE,
    ConsentPolicy,
    FreeTextPolicy,
)
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentFact,
    ConsentRecord,
    ConsentSource,
    Purpose,
)
from escalate.store._protocol import OutboxItem
from escalate.workflow._commands import Notify, SendMessage

__all__ = ["ReplyPlan", "pending_opt_in", "plan_reply"]

_TEXT_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


@dataclass(frozen=True)
class ReplyPlan:
    """What one inbound reply changes: records, events, answers; and what it meant."""

    classification: Classification
    records: tuple[ConsentRecord, ...] = ()
    events: tuple[Event, ...] = ()
    outbox: tuple[OutboxItem, ...] = ()
    confirmed_opt_in: bool = False

    @property
    def revoked(self) -> bool:
        """The reply revoked consent (an opt-out that was not sent for review)."""
        return any(record.action is ConsentAction.REVOKE for record in self.records)


def _latest(facts: list[ConsentFact], purpose: Purpose | None = None) -> ConsentFact | None:
    applicable = [
        fact
        for fact in facts
        if purpose is None
        or fact.purpose is purpose
        or (fact.all_purposes and fact.action is not ConsentAction.GRANT)
    ]
    return max(applicable, key=lambda f: (f.at, f.seq or 0), default=None)


def pending_opt_in(facts: list[ConsentFact]) -> ConsentFact | None:
    """The grant waiting for a YES, when the address's latest transactional fact is one."""
    latest = _latest(facts, Purpose.TRANSACTIONAL)
    if latest is not None and latest.action is ConsentAction.GRANT and latest.awaiting_confirmation:
        return latest
    return None


def _stopped(facts: list[ConsentFact]) -> bool:
    latest = _latest(facts)
    return latest is not None and latest.action is not ConsentAction.GRANT


def plan_reply(
    message: InboundMessage,
    facts: list[ConsentFact],
    *,
    tenant: str,
    handoff: Handoff | None,
    policy: ConsentPolicy,
    brand: str,
    now: datetime,
    awaiting_opt_in: bool = False,
) -> ReplyPlan:
    """Plan the consent side of one inbound reply (see the module docstring).

    ``awaiting_opt_in``: a handoff on this address waits for a double opt-in
    YES. Its workflow records the grant (with the exact request text it
    showed), so the plan only says the opt-in was confirmed.
    """
    pending = pending_opt_in(facts)
    if pending is not None and getattr(pending, "handoff_id", None) is not None:
        # A request a handoff made is answered through that handoff while it
        # awaits the YES (``awaiting_opt_in``); once it closed, the request is
        # void, and a late YES grants nothing.
        pending = None
    verdict = classify(
        message.body,
        locale=policy.locale,
        pending_opt_in=pending is not None or awaiting_opt_in,
        keywords=policy.keywords,
    )
    if message.carrier_keyword is not None and verdict.intent.value != message.carrier_keyword:
        # The provider already blocked (or unblocked) our texts for this reply:
        # a ledger that disagreed would send into its block, or stay silent after it lifted.
        verdict = Classification(ReplyIntent(message.carrier_keyword), "carrier_keyword")
    source = (
        ConsentSource.SMS_KEYWORD
        if message.channel in _TEXT_CHANNELS
        else ConsentSource.EMAIL_REPLY
    )
    evidence = ConsentEvidence(
        source=source, provider_message_id=message.provider_message_id, rule=verdict.rule
    )
    handoff_id = handoff.id if handoff is not None else None

    def record(
        action: ConsentAction, purpose: Purpose, *, all_purposes: bool = False, tie: str | None
    ) -> ConsentRecord:
        return make_consent_record(
            tenant=tenant,
            address=message.sender,
            channel=message.channel,
            purpose=purpose,
            action=action,
            evidence=evidence,
            at=now,
            actor="customer",
            handoff_id=tie,
            all_purposes=all_purposes,
        )

    def answer(
        template: str, text: str, key: str, confirms: str | None = None
    ) -> tuple[OutboxItem, ...]:
        if message.channel not in _TEXT_CHANNELS:
            return ()
        body = policy.render(text, brand)
        if handoff is not None and policy.case_reference:
            body += policy.render(policy.case_reference, brand, reference=handoff.reference)
        command = SendMessage(
            channel=message.channel,
            to=message.sender,
            body=body,
            template=template,
            confirms=confirms,
        )
        return (
            OutboxItem(
                id=new_id("ob"),
                tenant=tenant,
                handoff_id=handoff_id,
                idempotency_key=f"consent:{template}:{key}",
                command=command,
                due_at=now,
                created_at=now,
            ),
        )

    def review_notice() -> tuple[OutboxItem, ...]:
        # A person decides: the helpdesk hears of it through the workflow's
        # notifier, like any Notify (a reply on no open case has nobody to tell
        # but the audit log).
        if handoff is None:
            return ()
        text = f"case {handoff.reference}: a reply may revoke consent ({verdict.rule}); review it"
        notify = Notify(topic="consent_review", text=text)
        key = message.provider_message_id or new_id("in")
        return (
            OutboxItem(
                id=new_id("ob"),
                tenant=tenant,
                handoff_id=handoff.id,
                # The sender picks an email's Message-ID: the key names the case
                # too, or one email to two tenants' cases would share a row key.
                idempotency_key=f"consent:review:{handoff.id}:{key}",
                command=notify,
                due_at=now,
                created_at=now,
            ),
        )

    def note(kind: str, **data: object) -> Event:
        return Event(
            id=new_id("ev"),
            tenant=tenant,
            kind=kind,
            at=now,
            handoff_id=handoff_id,
            contact_id=handoff.contact_id if handoff else None,
            actor="customer",
            data={"rule": verdict.rule, "channel": message.channel.value, **data},
        )

    if verdict.intent is ReplyIntent.OPT_OUT:
        if verdict.free_text and policy.free_text is FreeTextPolicy.REVIEW:
            return ReplyPlan(
                verdict, events=(note("consent.review_requested"),), outbox=review_notice()
            )
        revoke = record(ConsentAction.REVOKE, Purpose.TRANSACTIONAL, all_purposes=True, tie=None)
        outbox = (
            ()
            if _stopped(facts)
            else answer(
                OPT_OUT_CONFIRMATION_TEMPLATE, policy.opt_out_confirmation, revoke.id, revoke.id
            )
        )
        return ReplyPlan(verdict, (revoke,), (consent_event(revoke),), outbox)
    if verdict.intent is ReplyIntent.OPT_IN and awaiting_opt_in:
        # YES, or START: either answers the handoff's request, which records the
        # grant with the request's text and sends the intro (no "subscribed").
        return ReplyPlan(verdict, events=(note("consent.opt_in_confirmed"),), confirmed_opt_in=True)
    if verdict.intent is ReplyIntent.OPT_IN and verdict.rule in CONFIRMING_RULES and pending:
        tie = getattr(pending, "handoff_id", None) or handoff_id
        grant = record(ConsentAction.GRANT, Purpose.TRANSACTIONAL, tie=tie)
        return ReplyPlan(verdict, (grant,), (consent_event(grant),), confirmed_opt_in=True)
    if verdict.intent is ReplyIntent.OPT_IN and message.channel not in _TEXT_CHANNELS:
        # Anyone can put an address in an email's From: a START there would let
        # them re-subscribe someone who said STOP. A carrier vouches for an SMS
        # sender; an email address consents again through a consent link.
        return ReplyPlan(
            verdict, events=(note("consent.opt_in_not_accepted", reason="sender_unverified"),)
        )
    if verdict.intent is ReplyIntent.OPT_IN:
        granted_before = {fact.purpose for fact in facts if fact.action is ConsentAction.GRANT} or {
            Purpose.TRANSACTIONAL
        }
        # START re-grants what the customer had granted; a transactional grant
        # stays tied to the request it served, so it does not open new ones.
        ties = {
            fact.purpose: getattr(fact, "handoff_id", None)
            for fact in sorted(facts, key=lambda f: (f.at, f.seq or 0))
            if fact.action is ConsentAction.GRANT
        }
        grants = tuple(
            record(ConsentAction.GRANT, purpose, tie=handoff_id or ties.get(purpose))
            for purpose in sorted(granted_before)
        )
        outbox = answer(
            OPT_IN_CONFIRMATION_TEMPLATE, policy.opt_in_confirmation, grants[0].id, grants[-1].id
        )
        return ReplyPlan(verdict, grants, tuple(consent_event(g) for g in grants), outbox)
    if verdict.intent is ReplyIntent.HELP:
        if _stopped(facts):
            return ReplyPlan(verdict, events=(note("consent.help_not_answered", reason="revoked"),))
        key = message.provider_message_id or new_id("in")
        return ReplyPlan(
            verdict,
            events=(note("consent.help_requested"),),
            outbox=answer(HELP_TEMPLATE, policy.help_text, key),
        )
    return ReplyPlan(verdict)
