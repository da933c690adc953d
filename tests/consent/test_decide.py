"""The decision rules of DESIGN.md section 4, one named test each, on plain records."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from escalate import Channel, Identity, InvalidInput, NaiveDatetimeError
from escalate.consent import (
    ConsentAction,
    ConsentEvidence,
    ConsentPolicy,
    ConsentRecord,
    ConsentSource,
    Purpose,
    QuietHours,
    decide_from_records,
)
from escalate.consent._making import make_consent_record
from escalate.consent._policy import (
    HELP_TEMPLATE,
    OPT_IN_REQUEST_TEMPLATE,
    OPT_OUT_CONFIRMATION_TEMPLATE,
)

PHONE = Identity.phone("+14155550100")
T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
FORM = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me about my case", thread_id="t1")


def rec(
    action: ConsentAction,
    purpose: Purpose = Purpose.TRANSACTIONAL,
    *,
    minutes: int = 0,
    evidence: ConsentEvidence = FORM,
    all_purposes: bool = False,
    handoff_id: str | None = None,
    awaiting: bool = False,
    seq: int = 0,
) -> ConsentRecord:
    record = make_consent_record(
        tenant="default",
        address=PHONE,
        purpose=purpose,
        action=action,
        evidence=evidence,
        at=T0 + timedelta(minutes=minutes),
        handoff_id=handoff_id,
        all_purposes=all_purposes,
        awaiting_confirmation=awaiting,
    )
    return record.model_copy(update={"seq": seq or minutes + 1})


GRANT, REVOKE, SUPPRESS = ConsentAction.GRANT, ConsentAction.REVOKE, ConsentAction.SUPPRESS


def decide(records: list[ConsentRecord], purpose: Purpose, minutes: int = 30, **kw: object):  # type: ignore[no-untyped-def]
    return decide_from_records(
        records,
        purpose,
        T0 + timedelta(minutes=minutes),
        address=PHONE,
        **kw,  # type: ignore[arg-type]
    )


def test_no_records_no_consent() -> None:
    """Nothing is sent to an address with no consent."""
    assert decide([], Purpose.TRANSACTIONAL).reason == "no_consent"


def test_latest_record_wins() -> None:
    """The latest record decides: grant, revoke, grant again is allowed; the reverse is not."""
    assert decide(
        [rec(GRANT), rec(REVOKE, minutes=1), rec(GRANT, minutes=2)], Purpose.TRANSACTIONAL
    ).allowed
    refused = decide([rec(GRANT), rec(REVOKE, minutes=1)], Purpose.TRANSACTIONAL)
    assert refused.reason == "revoked"
    assert refused.records[0].action is REVOKE


def test_same_instant_is_ordered_by_write_order() -> None:
    """Two records at the same instant are ordered by the store's sequence number."""
    records = [rec(GRANT, seq=1), rec(REVOKE, seq=2)]
    assert decide(records, Purpose.TRANSACTIONAL).reason == "revoked"


def test_future_records_are_ignored() -> None:
    """A decision replayed for an earlier instant ignores later records."""
    records = [rec(GRANT), rec(REVOKE, minutes=60)]
    assert decide(records, Purpose.TRANSACTIONAL, minutes=30).allowed


def test_keyword_revoke_covers_every_purpose() -> None:
    """A revoke for every purpose (a STOP) refuses marketing and transactional alike."""
    records = [
        rec(GRANT),
        rec(GRANT, Purpose.MARKETING, minutes=1),
        rec(REVOKE, minutes=2, all_purposes=True),
    ]
    assert decide(records, Purpose.TRANSACTIONAL).reason == "revoked"
    assert decide(records, Purpose.MARKETING).reason == "revoked"


def test_purpose_revoke_leaves_other_purposes() -> None:
    """A marketing-only revoke leaves transactional consent standing."""
    records = [
        rec(GRANT),
        rec(GRANT, Purpose.MARKETING, minutes=1),
        rec(REVOKE, Purpose.MARKETING, minutes=2),
    ]
    assert decide(records, Purpose.TRANSACTIONAL).allowed
    assert decide(records, Purpose.MARKETING).reason == "revoked"


def test_marketing_needs_an_explicit_grant() -> None:
    """A transactional grant never covers marketing, nor does an agent-attested one."""
    assert decide([rec(GRANT)], Purpose.MARKETING).reason == "marketing_requires_explicit_grant"
    attested = ConsentEvidence(source=ConsentSource.AGENT_ATTESTED, thread_id="t1")
    records = [rec(GRANT, Purpose.MARKETING, evidence=attested)]
    assert decide(records, Purpose.MARKETING).reason == "marketing_requires_explicit_grant"
    assert decide([rec(GRANT, Purpose.MARKETING)], Purpose.MARKETING).allowed


def test_transactional_grant_must_be_tied_to_a_request() -> None:
    """A transactional grant with no handoff or thread behind it does not allow sends."""
    loose = ConsentEvidence(source=ConsentSource.API, text="ok")
    assert decide([rec(GRANT, evidence=loose)], Purpose.TRANSACTIONAL).reason == (
        "grant_not_tied_to_request"
    )
    assert decide([rec(GRANT, evidence=loose, handoff_id="ho_1")], Purpose.TRANSACTIONAL).allowed


def test_suppression_refuses() -> None:
    """A provider suppression (hard bounce) refuses every purpose until a new grant."""
    records = [rec(GRANT), rec(SUPPRESS, minutes=1, all_purposes=True)]
    assert decide(records, Purpose.TRANSACTIONAL).reason == "suppressed"


def test_double_opt_in_waits_for_yes() -> None:
    """A grant awaiting confirmation allows only the 'Reply YES' request."""
    records = [rec(GRANT, awaiting=True)]
    assert decide(records, Purpose.TRANSACTIONAL).reason == "awaiting_confirmation"
    assert decide(records, Purpose.TRANSACTIONAL, template=OPT_IN_REQUEST_TEMPLATE).allowed
    confirmed = [*records, rec(GRANT, minutes=1, handoff_id="ho_1")]
    assert decide(confirmed, Purpose.TRANSACTIONAL).allowed


def test_quiet_hours_defer_with_not_before() -> None:
    """A send in quiet hours is deferred to the window's opening, not refused."""
    night = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # 23:00 in Los Angeles
    decision = decide_from_records(
        [rec(GRANT, minutes=-700)], Purpose.TRANSACTIONAL, night, address=PHONE
    )
    assert not decision.allowed
    assert decision.reason == "quiet_hours"
    assert decision.not_before == datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
    assert decision.zone_source == "number"
    assert decision.zones == ("America/Los_Angeles",)


def test_quiet_hours_are_per_purpose() -> None:
    """A policy may turn quiet hours off for transactional texts and keep them for marketing."""
    policy = ConsentPolicy(
        quiet_hours={Purpose.TRANSACTIONAL: None, Purpose.MARKETING: QuietHours(time(10), time(20))}
    )
    night = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    records = [rec(GRANT, minutes=-700), rec(GRANT, Purpose.MARKETING, minutes=-699)]
    assert decide_from_records(
        records, Purpose.TRANSACTIONAL, night, address=PHONE, policy=policy
    ).allowed
    marketing = decide_from_records(records, Purpose.MARKETING, night, address=PHONE, policy=policy)
    assert marketing.not_before == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def test_toll_free_decision_says_it_used_the_tenant_zone() -> None:
    """For a toll-free number the decision says it used the tenant's default zone."""
    toll_free = Identity.phone("+18005550100")
    record = make_consent_record(
        tenant="default",
        address=toll_free,
        purpose=Purpose.TRANSACTIONAL,
        action=GRANT,
        evidence=FORM,
        at=T0,
    )
    policy = ConsentPolicy(default_zone="America/New_York")
    decision = decide_from_records(
        [record], Purpose.TRANSACTIONAL, T0, address=toll_free, policy=policy
    )
    assert decision.allowed
    assert decision.zone_source == "tenant_default"
    known = decide_from_records(
        [record],
        Purpose.TRANSACTIONAL,
        T0,
        address=toll_free,
        policy=policy,
        known_zone="Asia/Tokyo",
    )
    assert known.reason == "quiet_hours"
    assert known.zone_source == "contact"


def test_opt_out_confirmation_only_within_five_minutes() -> None:
    """After a revoke, its confirmation may go within 5 minutes and not after."""
    records = [rec(GRANT), rec(REVOKE, minutes=10, all_purposes=True)]
    ok = decide(
        records,
        Purpose.TRANSACTIONAL,
        minutes=14,
        template=OPT_OUT_CONFIRMATION_TEMPLATE,
        requested_at=T0 + timedelta(minutes=10),
    )
    assert ok.allowed
    assert ok.reason == "keyword_reply"
    late = decide(
        records,
        Purpose.TRANSACTIONAL,
        minutes=16,
        template=OPT_OUT_CONFIRMATION_TEMPLATE,
        requested_at=T0 + timedelta(minutes=10),
    )
    assert not late.allowed


def test_nothing_but_the_confirmation_after_a_revoke() -> None:
    """After a revoke even a HELP answer is refused; only the confirmation may go."""
    records = [rec(GRANT), rec(REVOKE, minutes=10, all_purposes=True)]
    help_answer = decide(
        records,
        Purpose.TRANSACTIONAL,
        minutes=11,
        template=HELP_TEMPLATE,
        requested_at=T0 + timedelta(minutes=11),
    )
    assert help_answer.reason == "revoked"


def test_keyword_answers_skip_quiet_hours() -> None:
    """A HELP answer goes at once, even at night, as the reply to the customer's own text."""
    night = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    decision = decide_from_records(
        [], Purpose.TRANSACTIONAL, night, address=PHONE, template=HELP_TEMPLATE, requested_at=night
    )
    assert decision.allowed


def test_bad_input() -> None:
    """An unknown purpose or a naive instant raises a typed error."""
    with pytest.raises(InvalidInput, match="unknown purpose"):
        decide_from_records([], "newsletter", T0)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        decide_from_records([], Purpose.TRANSACTIONAL, datetime(2026, 1, 5))


def test_confirmation_of_a_superseded_revoke_is_refused() -> None:
    """A confirmation may go only while the revoke it confirms is still the latest record."""
    first = rec(REVOKE, minutes=10, all_purposes=True)
    records = [
        rec(GRANT),
        first,
        rec(GRANT, minutes=11),
        rec(REVOKE, minutes=12, all_purposes=True),
    ]
    stale = decide(records, Purpose.TRANSACTIONAL, minutes=12,
                   template=OPT_OUT_CONFIRMATION_TEMPLATE,
                   requested_at=T0 + timedelta(minutes=10), confirms=first.id)  # fmt: skip
    assert stale.reason == "superseded"
    current = decide(records, Purpose.TRANSACTIONAL, minutes=12,
                     template=OPT_OUT_CONFIRMATION_TEMPLATE,
                     requested_at=T0 + timedelta(minutes=12), confirms=records[-1].id)  # fmt: skip
    assert current.allowed


def test_a_grant_counts_on_its_own_channel_a_revoke_on_every_one() -> None:
    """Rule 2: an SMS grant is no WhatsApp opt-in; a STOP on WhatsApp stops texts too
    (more in ``test_channel_scope.py``)."""
    sms_grant = rec(GRANT)  # the phone's own channel: SMS
    assert decide([sms_grant], Purpose.TRANSACTIONAL, channel=Channel.SMS).allowed
    assert decide([sms_grant], Purpose.TRANSACTIONAL, channel=Channel.WHATSAPP).reason == (
        "no_consent"
    )
    stop = rec(REVOKE, minutes=1, all_purposes=True).model_copy(
        update={"channel": Channel.WHATSAPP}
    )
    assert decide([sms_grant, stop], Purpose.TRANSACTIONAL, channel=Channel.SMS).reason == (
        "revoked"
    )
