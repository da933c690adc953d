"""Bad input to the consent API raises typed errors and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalate import (
    ConsentEvidence,
    ConsentPolicy,
    ConsentSource,
    Escalator,
    Identity,
    InvalidInput,
    NaiveDatetimeError,
)

PHONE = Identity.phone("+14155550100")
FORM = ConsentEvidence(source=ConsentSource.WEB_FORM, thread_id="t1")


def test_unknown_purpose(esc: Escalator) -> None:
    """An unknown purpose raises InvalidInput for decide and for record, and writes nothing."""
    with pytest.raises(InvalidInput, match="unknown purpose"):
        esc.consent.decide(PHONE, "newsletter")
    with pytest.raises(InvalidInput, match="unknown purpose"):
        esc.consent.grant(PHONE, FORM, purpose="newsletter")
    assert esc.consent.records(PHONE) == []


def test_unknown_action(esc: Escalator) -> None:
    """An unknown consent action raises InvalidInput."""
    with pytest.raises(InvalidInput, match="unknown consent action"):
        esc.consent.record(PHONE, purpose="transactional", action="maybe", evidence=FORM)


def test_naive_datetime(esc: Escalator) -> None:
    """A naive ``at`` raises NaiveDatetimeError, a ValueError."""
    with pytest.raises(NaiveDatetimeError):
        esc.consent.decide(PHONE, "transactional", datetime(2026, 1, 5, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        esc.consent.record_provider_event("twilio", "21610", PHONE, at=datetime(2026, 1, 5))


def test_social_and_non_identity_addresses(esc: Escalator) -> None:
    """Consent is for a phone or email; a social identity or a string is refused."""
    social = Identity.social("x", "42")
    with pytest.raises(InvalidInput):
        esc.consent.grant(social, FORM)
    with pytest.raises(InvalidInput):
        esc.consent.decide("+14155550100", "transactional")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        esc.consent.grant(PHONE, {"source": "web_form"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"help_text": "Acme support. Reply STOP to opt out."},  # no rates notice, no {brand}
        {"help_text": "{brand}: Msg & data rates may apply."},  # does not say how to stop
        {"default_zone": "Nowhere/City"},
        {"locale": "xx"},
        {"free_text": "ignore"},
        {"unauthenticated_email_opt_out": "ignore"},
        {"unauthenticated_email_opt_out": True},
        {"unauthenticated_email_reply": "honour"},
        {"unauthenticated_email_reply": None},
        {"reply_window": timedelta(0)},
        {"quiet_hours": {"newsletter": None}},
    ],
)
def test_bad_policy(kwargs: dict[str, object]) -> None:
    """A policy missing a required help-text part, or naming unknown things, is refused."""
    with pytest.raises(InvalidInput):
        ConsentPolicy(**kwargs)  # type: ignore[arg-type]


def test_evidence_repr_hides_personal_data() -> None:
    """A consent record's repr shows neither the address nor the ip or user agent."""
    from escalate.consent._making import make_consent_record

    evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, ip="203.0.113.7", user_agent="UA/1")
    record = make_consent_record(
        tenant="t", address=PHONE, purpose="transactional", action="grant", evidence=evidence,
        at=datetime(2026, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    shown = repr(record) + repr(evidence)
    assert "203.0.113.7" not in shown
    assert "UA/1" not in shown
    assert PHONE.value not in shown
