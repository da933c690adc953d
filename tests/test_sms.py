"""SMS segment counting: GSM-7 vs UCS-2, single and concatenated limits, no split pairs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.sms import SMSEncoding, _widths, is_gsm7, segments

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700)
any_text = st.text(max_size=400)


@pytest.mark.parametrize(
    ("body", "encoding", "count", "units"),
    [
        ("a" * 160, SMSEncoding.GSM7, 1, 160),
        ("a" * 161, SMSEncoding.GSM7, 2, 161),
        ("a" * 306, SMSEncoding.GSM7, 2, 306),
        ("a" * 307, SMSEncoding.GSM7, 3, 307),
        ("€" * 80, SMSEncoding.GSM7, 1, 160),
        ("€" * 81, SMSEncoding.GSM7, 2, 162),
        ("é" * 70 + "ж", SMSEncoding.UCS2, 2, 71),
        ("ж" * 70, SMSEncoding.UCS2, 1, 70),
        ("ж" * 71, SMSEncoding.UCS2, 2, 71),
        ("ж" * 134, SMSEncoding.UCS2, 2, 134),
        ("ж" * 135, SMSEncoding.UCS2, 3, 135),
        ("😀" * 35, SMSEncoding.UCS2, 1, 70),
        ("😀" * 36, SMSEncoding.UCS2, 2, 72),
        ("", SMSEncoding.GSM7, 1, 0),
    ],
)
def test_boundaries(body: str, encoding: SMSEncoding, count: int, units: int) -> None:
    """The 160/161 and 70/71 boundaries, extension chars as 2 septets, emoji as 2 units."""
    info = segments(body)
    assert (info.encoding, info.segments, info.units) == (encoding, count, units)


def test_escape_pair_is_not_split_across_parts() -> None:
    """A 2-septet character that would straddle a part boundary starts the next part."""
    # 306 septets would fit two parts of 153, but the euro cannot sit at 153/154:
    # part 1 holds 152, part 2 the euro and 151 more, part 3 the last one.
    assert segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert segments("a" * 152 + "€" + "a" * 151).segments == 2
    assert segments("a" * 306).segments == 2


def test_surrogate_pair_is_not_split_across_parts() -> None:
    """An emoji (a surrogate pair) that would straddle a part boundary starts the next part."""
    assert segments("ж" * 66 + "😀" + "ж" * 66).segments == 3  # 134 units, yet 3 parts
    assert segments("ж" * 66 + "😀" + "ж" * 65).segments == 2
    assert segments("ж" * 134).segments == 2


@given(gsm_text)
def test_gsm_only_text_is_never_ucs2(body: str) -> None:
    """Text made only of GSM-7 characters (basic or extension) is sent as GSM-7."""
    info = segments(body)
    assert info.encoding is SMSEncoding.GSM7
    assert info.units == len(body) + sum(char in GSM_EXTENSION for char in body)


@given(any_text, st.characters())
def test_segments_are_monotone_in_length(body: str, extra: str) -> None:
    """Appending a character never lowers the segment count."""
    assert segments(body + extra).segments >= segments(body).segments


@given(any_text)
def test_segment_count_bounds_units(body: str) -> None:
    """Each part holds at most its capacity, and no part could have been saved."""
    info = segments(body)
    single, per_part = (160, 153) if info.encoding is SMSEncoding.GSM7 else (70, 67)
    if info.units <= single:
        assert info.segments == 1
    else:
        # Greedy packing loses at most one unit per part to an unsplittable pair.
        assert -(-info.units // per_part) <= info.segments <= -(-info.units // (per_part - 1))


@given(any_text)
def test_encoding_matches_alphabet(body: str) -> None:
    """UCS-2 is chosen exactly when some character is outside GSM-7."""
    assert (segments(body).encoding is SMSEncoding.GSM7) == is_gsm7(body)


@given(st.text(st.characters(exclude_categories=()), max_size=400))
def test_units_are_the_sum_of_each_characters_width(body: str) -> None:
    """Counted in bulk, units equal each character's septets or UTF-16 units summed."""
    info = segments(body)
    assert info.units == sum(_widths(body, info.encoding))
