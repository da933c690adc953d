"""extract_identities finds phones (phonenumbers' matcher) and emails (email-validator) in text."""

from __future__ import annotations

import time

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Escalator, Identity, InvalidInput, extract_identities
from escalate.identity import find_identities


def test_finds_phones_and_emails_in_a_post() -> None:
    """National and international numbers and emails come out normalized, in order, once."""
    text = (
        "@acme my order never came!! call me (415) 555-0100 or +44 20 7123 4567, "
        "mail Jane.Doe@Example.com. or again 415.555.0100"
    )
    assert extract_identities(text, region="US") == [
        Identity.phone("+14155550100"),
        Identity.phone("+442071234567"),
        Identity.email("jane.doe@example.com"),
    ]


def test_positions_point_at_the_text() -> None:
    """find_identities gives spans that cover what the customer wrote."""
    text = "reach me: jane@example.com / 415 555 0100"
    spans = [text[f.start : f.end] for f in find_identities(text, region="US")]
    assert spans == ["jane@example.com", "415 555 0100"]


def test_without_region_only_international_numbers() -> None:
    """With no region a national number is not guessed at."""
    assert extract_identities("call 415 555 0100") == []
    assert extract_identities("call +1 415 555 0100") == [Identity.phone("+14155550100")]


def test_handles_and_junk_are_not_identities() -> None:
    """A social @handle, an invalid number and a broken address are not extracted."""
    assert extract_identities("@jane_d 555-0100 12345 jane@ @example.com", region="US") == []


def test_bad_arguments_raise_typed_errors() -> None:
    """A non-string text, an oversized text or an unknown region raise InvalidInput."""
    with pytest.raises(InvalidInput):
        extract_identities(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        extract_identities("x" * 100_001)
    with pytest.raises(InvalidInput):
        extract_identities("hi", region="QQ")


@pytest.mark.parametrize("region", [5, b"US", ["US"], object()])
def test_a_region_that_is_not_text_raises_invalid_input(region: object) -> None:
    """A region of the wrong type is bad input like an unknown one, not an AttributeError."""
    for find in (extract_identities, find_identities):
        with pytest.raises(InvalidInput):
            find("call +1 415 555 0100", region=region)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Escalator("memory://", region=region)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_any_text_gives_normalized_identities(text: str) -> None:
    """Whatever the text, every result is a normalized identity that round-trips."""
    for found in find_identities(text, region="US"):
        identity = found.identity
        rebuilt = (
            Identity.phone(identity.value)
            if identity.kind.value == "phone"
            else Identity.email(identity.value)
        )
        assert rebuilt == identity
        assert 0 <= found.start < found.end <= len(text)


@given(
    st.sampled_from(["(415) 555-0100", "415-555-0100", "+1 415 555 0100", "415.555.0100"]),
    st.text(alphabet="abc ,.!?\n", max_size=20),
    st.text(alphabet="abc ,.!?\n", max_size=20),
)
def test_a_number_in_any_surrounding_text_is_found(number: str, before: str, after: str) -> None:
    """A written number is found whatever words surround it."""
    text = f"{before} {number} {after}"
    assert Identity.phone("+14155550100") in extract_identities(text, region="US")


_NO_DIGITS = st.text(
    st.characters(blacklist_categories=("Nd",)) | st.sampled_from("+()-. ext#*abcOIl"),
    max_size=200,
)


@given(text=_NO_DIGITS, region=st.sampled_from([None, "US", "GB", "DE", "IN"]))
def test_text_without_digits_holds_no_phone(text: str, region: str | None) -> None:
    """The no-digit fast path agrees with phonenumbers' matcher run on the text."""
    matcher = phonenumbers.PhoneNumberMatcher(
        text, region or "ZZ", leniency=phonenumbers.Leniency.VALID
    )
    assert list(matcher) == []
    assert [f for f in find_identities(text, region) if f.identity.kind.value == "phone"] == []


@pytest.mark.parametrize("text", ["a" * 100_000, "jane.doe" * 12_000 + " jane@example.com"])
def test_a_long_run_without_an_address_is_read_in_linear_time(text: str) -> None:
    """The email finder re-read a run of letters from each of them: a public post
    at the 100,000-character limit took 25 s."""
    start = time.process_time()
    found = find_identities(text)
    assert time.process_time() - start < 2
    assert [item.identity for item in found] == (
        [Identity.email("jane@example.com")] if "@" in text else []
    )
