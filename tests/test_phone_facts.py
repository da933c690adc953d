"""``escalate._phone``: a number's parse and type, worked out once and shared."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Identity, InvalidIdentity, _phone
from escalate._phone import NumberFacts, number_facts, remember_number
from escalate.consent import zones_for_number

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=4, max_size=14), st.sampled_from(REGIONS))
def test_identity_phone_accepts_exactly_the_valid_numbers(digits: str, region: str) -> None:
    """Validating by number type accepts what ``is_valid_number`` accepts, nothing else.

    (Within E.164: a number phonenumbers finds valid but longer than 15 digits is
    refused too.)
    """
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    fits = len(e164) <= 16  # "+" and at most 15 digits
    try:
        identity = Identity.phone(digits, region=region)
    except InvalidIdentity:
        assert not (phonenumbers.is_valid_number(parsed) and fits)
        return
    assert phonenumbers.is_valid_number(parsed)
    facts = number_facts(identity.value)
    assert facts.number_type == phonenumbers.number_type(parsed)


def test_facts_of_a_number_identity_phone_validated_are_not_worked_out_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identity = Identity.phone("(415) 555-0137", region="US")

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    facts = number_facts(identity.value)
    assert phonenumbers.format_number(facts.parsed, phonenumbers.PhoneNumberFormat.E164) == (
        identity.value
    )
    assert zones_for_number(identity) == ("America/Los_Angeles",)


def test_an_unseen_number_is_parsed_and_kept() -> None:
    facts = number_facts("+442079460958")
    assert facts.number_type == phonenumbers.PhoneNumberType.FIXED_LINE
    assert number_facts("+442079460958") is facts


def test_only_the_most_recent_numbers_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_phone, "_KEEP", 3)
    monkeypatch.setattr(_phone, "_recent", type(_phone._recent)())
    parsed = phonenumbers.parse("+14155550100")
    for n in range(5):
        remember_number(f"+1415555010{n}", NumberFacts(parsed, 1))
    number_facts("+14155550102")  # used: moves to the newest end
    remember_number("+14155550109", NumberFacts(parsed, 1))
    assert list(_phone._recent) == ["+14155550104", "+14155550102", "+14155550109"]
