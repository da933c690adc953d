"""Finding a reference code in a customer's text, and the order open handoffs are tried in."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from escalate import Handoff
from escalate._ids import CROCKFORD_ALPHABET
from escalate._routing import named_reference, routing_order

# What a person may type for each code character (Crockford: I and L read as 1, O as 0).
_TYPED_AS = {"1": "1IiLl", "0": "0Oo"}

# Drawn by hypothesis (not new_reference's own randomness), so failures replay.
codes = st.text(CROCKFORD_ALPHABET, min_size=6, max_size=8).map(lambda s: f"{s[:4]}-{s[4:]}")
# Any text around the code, with something that is not a letter or digit between.
text_before = st.tuples(st.text(max_size=40), st.sampled_from([" ", "\n", ": ", " #", "(", "re "]))
text_after = st.tuples(st.sampled_from([" ", "\n", ".", ", ", "?", ") "]), st.text(max_size=40))


# What autocorrect, a web page or a PDF may put where the hyphen was.
_DASHES = ["\u2010", "\u2011", "\u2013", "\u2014", "\u2212", "\uff0d"]


def _full_width(char: str) -> str:
    """The full-width form of an ASCII letter or digit (a CJK keyboard types these)."""
    return chr(ord(char) + 0xFEE0)


@st.composite
def typed(draw: st.DrawFn, code: str) -> str:
    """``code`` as a customer may type it: any case, I/L/O confusions, spaces, any dash or none,
    full-width characters."""
    out = []
    for index, char in enumerate(code.replace("-", "")):
        if index == 4:
            dash = draw(st.sampled_from(["-", *_DASHES]))
            out.append(draw(st.sampled_from(["-", "", " ", " - ", "  ", dash, f" {dash} "])))
        elif index:
            out.append(draw(st.sampled_from(["", "", "", " "])))
        written = draw(st.sampled_from(_TYPED_AS.get(char, char.upper() + char.lower())))
        out.append(_full_width(written) if draw(st.booleans()) else written)
    return "".join(out)


@given(st.data(), codes, text_before, text_after)
def test_a_code_typed_any_way_inside_any_text_is_found(
    data: st.DataObject, code: str, before: tuple[str, str], after: tuple[str, str]
) -> None:
    """Case, spacing, a lost hyphen or a dash for it, full-width characters and I/L/O for 1/0
    still name the code, wherever it stands."""
    written = data.draw(typed(code))
    text = "".join([*before, written, *after])
    assert named_reference(text, [code]) == code


# Text with no character a code could be read from (even after str.upper()).
_CODE_CHARS = set(CROCKFORD_ALPHABET + "ILOU")
filler = st.text(st.characters().filter(lambda c: not _CODE_CHARS & set(c.upper())), max_size=40)


@given(codes, codes, filler, filler)
def test_a_text_without_the_code_names_none(code: str, other: str, before: str, after: str) -> None:
    """A text naming only another code, or no code at all, finds nothing."""
    assume(code != other)
    assert named_reference(f"{before} {other} {after}", [code]) is None
    assert named_reference(f"{before} {code.lower()} {after}", [other]) is None
    assert named_reference(before + after, [code, other]) is None
    assert named_reference(f"{before} {code} {after}", []) is None


def test_a_code_glued_to_other_letters_is_another_word() -> None:
    """Letters or digits on either side make it something else; punctuation does not."""
    assert named_reference("order XK7QP-3M", ["K7QP-3M"]) is None
    assert named_reference("order K7QP-3M5", ["K7QP-3M"]) is None
    assert named_reference("order K7QP.3M", ["K7QP-3M"]) is None
    assert named_reference("(K7QP-3M).", ["K7QP-3M"]) == "K7QP-3M"


def test_the_first_code_named_wins() -> None:
    """Two of the sender's codes in one text: the one written first."""
    assert named_reference("AAAA-11 or BBBB-22?", ["BBBB-22", "AAAA-11"]) == "AAAA-11"


def test_the_named_handoff_goes_first_then_newest_first() -> None:
    """Oldest-first input comes back named first, the others newest first."""
    oldest, middle, newest = (
        Handoff.model_construct(id=f"ho_{n}", reference=ref)
        for n, ref in enumerate(["AAAA-11", "BBBB-22", "CCCC-33"])
    )
    handoffs = [oldest, middle, newest]
    assert routing_order("still broken", handoffs) == [newest, middle, oldest]
    assert routing_order("re bbbb22", handoffs) == [middle, newest, oldest]
    assert routing_order("re DDDD-44", handoffs) == [newest, middle, oldest]
