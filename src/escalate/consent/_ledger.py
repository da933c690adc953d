"""The consent decision, as a pure function of an address's ledger records.

The rules (each has a named test in ``tests/consent/test_decide.py``):

1. Records after ``at`` are ignored, so a decision can be replayed for any instant.
2. A record applies to a purpose when it is for that purpose, or is a revoke or
   suppression covering every purpose (a STOP keyword, a provider opt-out). Asked
   about one channel, a grant applies only when given for that channel (a "text
   me" is no WhatsApp opt-in, nor the other way round); a revoke or suppression
   applies on every channel of the address, since "stop" means stop.
3. The latest applicable record wins: a revoke refuses (``revoked``), a
   suppression refuses (``suppressed``), a grant still waiting for a double
   opt-in YES refuses (``awaiting_confirmation``).
4. Marketing needs an explicit grant for marketing, given by the customer (not
   attested by an agent, not inferred from a provider): else
   ``marketing_requires_explicit_grant``. A transactional grant never covers it.
5. Transactional needs a grant since the last revoke that is tied to the
   customer's request (a handoff or a thread): else ``grant_not_tied_to_request``.
6. Quiet hours (SMS and WhatsApp, per purpose) defer rather than refuse: the
   decision is ``quiet_hours`` with ``not_before`` at the window's opening.
7. Answers to the customer's own keyword (HELP, the opt-out and opt-in
   confirmations) skip quiet hours but must go within ``reply_window`` of the
   message they answer; after a revocation, the opt-out confirmation is the only
   text allowed, and only while that revocation is the latest record (a
   confirmation followed by a newer record is `superseded`).
8. A double opt-in request ("Reply YES to get updates on case K7QP-3M by text")
   is the one text allowed before a grant: with no record for the purpose, or a
   grant awaiting its YES, it is allowed (``opt_in_request``), quiet hours still
   apply, a revoke still refuses it; the engine sends it at most once per handoff.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from escalate._clock import aware_datetime
from escalate._identity import Identity, IdentityKind
from escalate._models import Channel
from escalate.consent._making import parse_purpose
from escalate.consent._policy import (
    KEYWORD_REPLY_TEMPLATES,
    OPT_IN_REQUEST_TEMPLATE,
    OPT_OUT_CONFIRMATION_TEMPLATE,
    ConsentPolicy,
)
from escalate.consent._records import (
    ConsentAction,
    ConsentFact,
    ConsentSource,
    Decision,
    Purpose,
)

__all__ = ["confirmed_by_text", "consent_basis", "decide_from_records"]

_DEFAULT_POLICY: ConsentPolicy | None = None


def _order(fact: ConsentFact) -> tuple[datetime, int]:
    return (fact.at, fact.seq or 0)


def consent_basis(
    facts: Iterable[ConsentFact],
    purpose: Purpose,
    at: datetime,
    channel: Channel | None = None,
) -> Decision:
    """Rules 1-5: is there standing consent for ``purpose`` at ``at``? (No quiet hours.)

    With ``channel``, grants given for another channel are left out (rule 2).
    """
    known = sorted(
        (
            fact
            for fact in facts
            if fact.at <= at
            and (
                channel is None or fact.channel is channel or fact.action is not ConsentAction.GRANT
            )
        ),
        key=_order,
    )
    applicable = [
        fact
        for fact in known
        if fact.purpose is purpose or (fact.all_purposes and fact.action is not ConsentAction.GRANT)
    ]
    if not applicable:
        if purpose is Purpose.MARKETING and any(
            fact.action is ConsentAction.GRANT for fact in known
        ):
            return Decision(allowed=False, reason="marketing_requires_explicit_grant")
        return Decision(allowed=False, reason="no_consent")
    latest = applicable[-1]
    if latest.action is ConsentAction.REVOKE:
        return Decision(allowed=False, reason="revoked", records=(latest,))
    if latest.action is ConsentAction.SUPPRESS:
        return Decision(allowed=False, reason="suppressed", records=(latest,))
    if latest.awaiting_confirmation:
        return Decision(allowed=False, reason="awaiting_confirmation", records=(latest,))
    since_revoke: list[ConsentFact] = []
    for fact in reversed(applicable):
        if fact.action is not ConsentAction.GRANT:
            break
        since_revoke.append(fact)
    if purpose is Purpose.MARKETING:
        basis = next((fact for fact in since_revoke if fact.explicit), None)
        reason = "marketing_requires_explicit_grant"
    else:
        basis = next((fact for fact in since_revoke if fact.tied_to_request), None)
        reason = "grant_not_tied_to_request"
    if basis is None:
        return Decision(allowed=False, reason=reason, records=(latest,))
    used = (latest,) if basis is latest else (basis, latest)
    return Decision(allowed=True, reason="granted", records=used)


def confirmed_by_text(facts: Iterable[ConsentFact], purpose: Purpose, at: datetime) -> bool:
    """Whether the address itself granted ``purpose`` by text (a YES, a START) since its
    last revoke or suppression: what double opt-in asks of a number before other texts.

    A form's or an agent's grant says someone gave the number; only a keyword
    texted from it says its holder wants the texts.
    """
    applicable = sorted(
        (
            fact
            for fact in facts
            if fact.at <= at
            and (
                fact.purpose is purpose
                or (fact.all_purposes and fact.action is not ConsentAction.GRANT)
            )
        ),
        key=_order,
    )
    for fact in reversed(applicable):
        if fact.action is not ConsentAction.GRANT:
            return False
        if fact.source is ConsentSource.SMS_KEYWORD and not fact.awaiting_confirmation:
            return True
    return False


def _keyword_reply(
    facts: list[ConsentFact],
    template: str,
    at: datetime,
    *,
    requested_at: datetime,
    policy: ConsentPolicy,
    confirms: str | None,
) -> Decision:
    known = sorted((fact for fact in facts if fact.at <= at), key=_order)
    latest = known[-1] if known else None
    stopped = latest is not None and latest.action is not ConsentAction.GRANT
    records = (latest,) if latest is not None else ()
    if at - requested_at > policy.reply_window:
        return Decision(allowed=False, reason="reply_window_passed", records=records)
    if confirms is not None and (latest is None or latest.id != confirms):
        # A newer record (a START after the STOP, a second STOP) took its place.
        return Decision(allowed=False, reason="superseded", records=records)
    if template == OPT_OUT_CONFIRMATION_TEMPLATE:
        if latest is None or latest.action is not ConsentAction.REVOKE:
            return Decision(allowed=False, reason="not_revoked", records=records)
        if at - latest.at > policy.reply_window:
            return Decision(allowed=False, reason="confirmation_window_passed", records=records)
        return Decision(allowed=True, reason="keyword_reply", records=records)
    if stopped:
        # After a revocation, nothing but its one confirmation: not even HELP.
        reason = "revoked" if latest and latest.action is ConsentAction.REVOKE else "suppressed"
        return Decision(allowed=False, reason=reason, records=records)
    return Decision(allowed=True, reason="keyword_reply", records=records)


def decide_from_records(
    records: Iterable[ConsentFact],
    purpose: Purpose,
    at: datetime,
    *,
    address: Identity | None = None,
    channel: Channel | None = None,
    policy: ConsentPolicy | None = None,
    template: str | None = None,
    requested_at: datetime | None = None,
    known_zone: str | None = None,
    confirms: str | None = None,
    opt_in_request: bool = False,
) -> Decision:
    """Decide from the records of one address, by the rules in the module docstring.

    Args:
        records: the address's records (and erased proofs), any order.
        purpose: why we would send.
        at: when we would send.
        address: the recipient; needed for quiet hours (phone numbers only).
        channel: the channel; only grants given for it count (rule 2), and
            quiet hours apply to the policy's channels. ``None``: grants on
            any channel count, and quiet hours are SMS's.
        policy: the tenant's policy (default ``ConsentPolicy()``).
        template: the ``SendMessage.template``; keyword answers follow rule 7.
        requested_at: when the message a keyword answer answers arrived.
        known_zone: the contact's known zone, which overrides the number's.
        confirms: for a confirmation, the record it confirms (rule 7).
        opt_in_request: the message is a double opt-in request ("Reply YES..."),
            the one text allowed before a grant: with no record, or a grant
            awaiting its YES, it may go (quiet hours still apply); a revoke
            still refuses it. That it goes once per handoff is the engine's check.

    Raises:
        NaiveDatetimeError: a naive ``at`` or ``requested_at``.
        InvalidInput: an unknown purpose.
    """
    global _DEFAULT_POLICY  # noqa: PLW0603 - built once, lazily, and immutable

    at = aware_datetime(at, "at")
    purpose = parse_purpose(purpose)
    if policy is None:
        policy = _DEFAULT_POLICY = _DEFAULT_POLICY or ConsentPolicy()
    facts = list(records)
    if template in KEYWORD_REPLY_TEMPLATES:
        asked = aware_datetime(requested_at, "requested_at") if requested_at is not None else at
        return _keyword_reply(
            facts, str(template), at, requested_at=asked, policy=policy, confirms=confirms
        )
    basis = consent_basis(facts, purpose, at, channel)
    is_request = opt_in_request or template == OPT_IN_REQUEST_TEMPLATE
    if is_request and basis.reason in ("awaiting_confirmation", "no_consent"):
        basis = basis.model_copy(update={"allowed": True, "reason": "opt_in_request"})
    if not basis.allowed:
        return basis
    hours = policy.quiet_hours.get(purpose)
    if (
        hours is None
        or address is None
        or address.kind is not IdentityKind.PHONE
        or (channel or Channel.SMS) not in policy.quiet_hours_channels
    ):
        return basis
    window = hours.window(address, at, known_zone=known_zone, default_zone=policy.default_zone)
    placed = {"zone_source": window.source.value, "zones": window.zones}
    if window.at > at:
        return basis.model_copy(
            update={"allowed": False, "reason": "quiet_hours", "not_before": window.at, **placed}
        )
    return basis.model_copy(update=placed)
