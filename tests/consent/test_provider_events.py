"""Provider events (Twilio 21610, SendGrid unsubscribes, spam reports, bounces) as records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalate import Escalator, Identity, InvalidInput, NaiveDatetimeError
from escalate.consent import ConsentAction, ConsentSource, Purpose, records_from_provider_event
from escalate.testing import FakeClock

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
AT = datetime(2026, 1, 5, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("provider", "event", "address", "action", "purpose", "all_purposes"),
    [
        ("twilio", "21610", PHONE, ConsentAction.REVOKE, Purpose.TRANSACTIONAL, True),
        ("sendgrid", "unsubscribe", EMAIL, ConsentAction.REVOKE, Purpose.TRANSACTIONAL, True),
        ("sendgrid", "group_unsubscribe", EMAIL, ConsentAction.REVOKE, Purpose.MARKETING, False),
        ("sendgrid", "spamreport", EMAIL, ConsentAction.REVOKE, Purpose.TRANSACTIONAL, True),
        ("sendgrid", "bounce", EMAIL, ConsentAction.SUPPRESS, Purpose.TRANSACTIONAL, True),
        ("SendGrid", "Bounce", EMAIL, ConsentAction.SUPPRESS, Purpose.TRANSACTIONAL, True),
    ],
)
def test_mapping_table(
    provider: str,
    event: str,
    address: Identity,
    action: ConsentAction,
    purpose: Purpose,
    all_purposes: bool,
) -> None:
    """Each consent-relevant provider event maps to one record with source=provider_event."""
    (record,) = records_from_provider_event(
        tenant="default", provider=provider, event=event, address=address, at=AT,
        provider_message_id="pm-1",
    )  # fmt: skip
    assert record.action is action
    assert record.purpose is purpose
    assert record.all_purposes is all_purposes
    assert record.source is ConsentSource.PROVIDER_EVENT
    assert record.evidence.provider_message_id == "pm-1"
    assert record.evidence.rule == f"{provider.lower()}:{event.lower()}"


@pytest.mark.parametrize("event", ["delivered", "open", "blocked", "30003"])
def test_other_events_are_not_consent_facts(event: str) -> None:
    """Events that say nothing about consent map to no record."""
    provider = "twilio" if event.isdigit() else "sendgrid"
    address = PHONE if provider == "twilio" else EMAIL
    assert (
        records_from_provider_event(
            tenant="default", provider=provider, event=event, address=address, at=AT
        )
        == ()
    )


def test_bad_input_is_refused() -> None:
    """Unknown provider, wrong address kind, or a naive time raise typed errors."""
    with pytest.raises(InvalidInput, match="unknown provider"):
        records_from_provider_event(tenant="t", provider="mailgun", event="x", address=EMAIL, at=AT)
    with pytest.raises(InvalidInput, match="phone"):
        records_from_provider_event(
            tenant="t", provider="twilio", event="21610", address=EMAIL, at=AT
        )
    with pytest.raises(NaiveDatetimeError):
        records_from_provider_event(
            tenant="t", provider="twilio", event="21610", address=PHONE, at=datetime(2026, 1, 5)
        )


def test_ledger_records_provider_events(esc: Escalator, clock: FakeClock) -> None:
    """record_provider_event writes the records and refuses later sends with the reason."""
    from escalate import ConsentEvidence

    esc.consent.grant(EMAIL, ConsentEvidence(source=ConsentSource.WEB_FORM, thread_id="t"))
    assert esc.consent.decide(EMAIL, "transactional").allowed
    (record,) = esc.consent.record_provider_event(
        "sendgrid", "bounce", EMAIL, provider_message_id="sg1"
    )
    assert esc.consent.records(EMAIL)[-1].id == record.id
    assert esc.consent.decide(EMAIL, "transactional").reason == "suppressed"
    assert esc.consent.record_provider_event("sendgrid", "delivered", EMAIL) == ()
    esc.consent.record_provider_event("twilio", "21610", PHONE)
    assert esc.consent.decide(PHONE, "marketing").reason == "revoked"


@pytest.mark.parametrize(
    ("event", "reason"), [("unsubscribe", "revoked"), ("bounce", "suppressed")]
)
def test_an_event_dated_ahead_of_our_clock_holds_at_once(
    esc: Escalator, clock: FakeClock, event: str, reason: str
) -> None:
    """SendGrid's clock 4 s ahead of ours: the record was dated in our future, so the
    address stayed granted, and an email went out, until our clock caught up."""

    from escalate import ConsentEvidence

    esc.consent.grant(EMAIL, ConsentEvidence(source=ConsentSource.WEB_FORM, thread_id="t"))
    ahead = clock.now() + timedelta(seconds=4)
    (record,) = esc.consent.record_provider_event("sendgrid", event, EMAIL, at=ahead)
    assert record.at == clock.now()
    assert esc.consent.decide(EMAIL, "transactional").reason == reason
