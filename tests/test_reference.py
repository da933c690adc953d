"""Reference codes: generated, read back as people type them, and looked up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Escalator, InvalidInput, NotFound
from escalate._ids import (
    CROCKFORD_ALPHABET,
    REFERENCE_PATTERN,
    new_reference,
    normalize_reference,
)
from escalate.testing import FakeClock
from tests.conftest import make_thread


@given(st.integers(min_value=6, max_value=10))
def test_new_references_match_the_published_shape(length: int) -> None:
    """A new code is 4 Crockford characters, a hyphen, and 2 or more."""
    assert REFERENCE_PATTERN.match(new_reference(length))


def test_every_position_draws_from_the_whole_alphabet() -> None:
    """Each character of a code can be any of the 32 (one draw of bits feeds them all)."""
    codes = [new_reference().replace("-", "") for _ in range(3000)]
    for position in range(6):
        # 3,000 draws of 32 equally likely characters: each seen ~94 times.
        assert {code[position] for code in codes} == set(CROCKFORD_ALPHABET)


@given(
    st.builds(new_reference), st.sampled_from([str.lower, str.upper, lambda s: s]), st.booleans()
)
def test_a_code_survives_case_spacing_and_lost_hyphens(
    code: str, case: object, hyphen: bool
) -> None:
    """Lowercase, stray spaces and a missing hyphen still read as the same code."""
    typed = case(code)  # type: ignore[operator]
    typed = typed if hyphen else typed.replace("-", " ")
    assert normalize_reference(f"  {typed} ") == code
    assert normalize_reference(code) == code


def test_look_alike_letters_read_as_digits() -> None:
    """I and L read as 1 and O as 0, as Crockford's base32 prescribes."""
    assert normalize_reference("k7qp-3m") == "K7QP-3M"
    assert normalize_reference("OIL1-LO") == "0111-10"


@given(
    st.builds(new_reference),
    st.sampled_from(["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\uff0d"]),
    st.booleans(),
)
def test_a_dash_or_full_width_characters_read_as_the_code(
    code: str, dash: str, full_width: bool
) -> None:
    """Autocorrect's dash, a copied non-breaking hyphen or minus, a CJK keyboard's full width."""
    typed = code.replace("-", dash)
    if full_width:
        typed = "".join(chr(ord(char) + 0xFEE0) if char.isalnum() else char for char in typed)
    assert normalize_reference(typed) == code
    assert normalize_reference(typed.lower()) == code


@given(st.text(max_size=30))
def test_anything_else_is_not_a_code(text: str) -> None:
    """Normalizing never raises: it returns a well-formed code or None."""
    code = normalize_reference(text)
    assert code is None or REFERENCE_PATTERN.match(code)


def test_escalator_finds_a_handoff_by_the_code_the_customer_typed(
    esc: Escalator, clock: FakeClock
) -> None:
    """esc.handoffs.by_reference accepts the code as a person would type it."""
    handoff = esc.open(make_thread(clock))
    typed = handoff.reference.lower().replace("-", " ")
    assert esc.handoffs.by_reference(typed).id == handoff.id
    with pytest.raises(InvalidInput):
        esc.handoffs.by_reference("not a code!")
    with pytest.raises(NotFound):
        esc.handoffs.by_reference("ZZZZ-ZZ" if handoff.reference != "ZZZZ-ZZ" else "YYYY-YY")
