"""``segments`` against a reference model written from 3GPP TS 23.038's own tables.

The model encodes a body to the code units a handset would put on the air (septets,
ESC + septet for the extension table; UTF-16 code units otherwise) and cuts them
into parts, never ending a part on an ESC or a high surrogate. It shares nothing
with ``escalate.sms`` but the limits, so a slip in either table or in the packing
shows up as a disagreement.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.sms import SMSEncoding, segments

ESC = 0x1B
# TS 23.038 6.2.1, the default alphabet read row by row from 0x00 to 0x7F; the
# escape code (0x1B) is a placeholder, it stands for no character.
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# TS 23.038 6.2.1.1, the extension table: position after ESC -> character.
EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
SEPTETS = {char: (code,) for code, char in enumerate(DEFAULT_ALPHABET) if code != ESC}
SEPTETS |= {char: (ESC, code) for code, char in EXTENSION_TABLE.items()}
BASIC = "".join(char for char in DEFAULT_ALPHABET if char != "\x1b")
EXTENDED = "".join(EXTENSION_TABLE.values())


def reference(body: str) -> tuple[SMSEncoding, int, int]:
    """Encoding, parts and code units of ``body``, per the standard."""
    if all(char in SEPTETS for char in body):
        encoding, single, per_part = SMSEncoding.GSM7, 160, 153
        units = [septet for char in body for septet in SEPTETS[char]]
    else:
        encoding, single, per_part = SMSEncoding.UCS2, 70, 67
        raw = body.encode("utf-16-be", "surrogatepass")
        units = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    if len(units) <= single:
        return encoding, 1, len(units)
    parts, start = 0, 0
    while start < len(units):
        end = min(start + per_part, len(units))
        if end < len(units) and _splits_a_pair(units, start, end, encoding):
            end -= 1
        parts, start = parts + 1, end
    return encoding, parts, len(units)


def _splits_a_pair(units: list[int], start: int, end: int, encoding: SMSEncoding) -> bool:
    if encoding is SMSEncoding.UCS2:
        return 0xD800 <= units[end - 1] <= 0xDBFF
    # An ESC is a pair's first half only where a character starts: walk them.
    index = start
    while index < end:
        index += 2 if units[index] == ESC else 1
    return index > end


def test_the_model_holds_the_whole_default_alphabet() -> None:
    """127 characters plus the escape code, and ten extension characters."""
    assert len(DEFAULT_ALPHABET) == 128
    assert len(SEPTETS) == 137


gsm_only = st.text(st.sampled_from(BASIC + EXTENDED), max_size=800)
# Mostly GSM-7, with the odd BMP or astral character, so both encodings and every
# pair kind reach part boundaries.
mixed = st.text(
    st.one_of(
        st.sampled_from(BASIC),
        st.sampled_from(EXTENDED),
        st.sampled_from("çÇáíóúÈ\u2019\u201c\u201d\u2013\u00a0\u2026`\u0391\u03a9\u2126ж"),
        st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x10000),
    ),
    max_size=500,
)
astral_heavy = st.text(
    st.one_of(st.sampled_from("aж€"), st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)),
    max_size=300,
)


@given(gsm_only)
def test_gsm_text_matches_the_standard(body: str) -> None:
    """Only GSM-7 characters: septets, escapes and parts as the model counts them."""
    info = segments(body)
    assert (info.encoding, info.segments, info.units) == reference(body)


@given(mixed)
def test_mixed_alphabets_match_the_standard(body: str) -> None:
    """Basic, extension, BMP and astral characters mixed: same encoding, parts and units."""
    info = segments(body)
    assert (info.encoding, info.segments, info.units) == reference(body)


@given(astral_heavy)
def test_emoji_heavy_text_matches_the_standard(body: str) -> None:
    """Many surrogate pairs land on part boundaries; none is split."""
    info = segments(body)
    assert (info.encoding, info.segments, info.units) == reference(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # An escape at the single-part edge, and one that no longer fits it.
        ("a" * 158 + "{", (SMSEncoding.GSM7, 1, 160)),
        ("a" * 159 + "{", (SMSEncoding.GSM7, 2, 161)),
        # 152 plain septets then '{': ESC cannot end part 1, so '{' opens part 2.
        ("a" * 152 + "{" + "a" * 151, (SMSEncoding.GSM7, 2, 305)),
        ("a" * 152 + "{" + "a" * 152, (SMSEncoding.GSM7, 3, 306)),
        ("a" * 151 + "{" + "a" * 153, (SMSEncoding.GSM7, 2, 306)),
        ("{" * 153, (SMSEncoding.GSM7, 3, 306)),  # 76 pairs a part, not 76.5
        ("\f" * 80, (SMSEncoding.GSM7, 1, 160)),
        # A line break counts as what it is: CR LF is two septets.
        ("\r\n" * 80, (SMSEncoding.GSM7, 1, 160)),
        ("\r\n" * 80 + ".", (SMSEncoding.GSM7, 2, 161)),
        ("", (SMSEncoding.GSM7, 1, 0)),
        ("a" * 153 * 100, (SMSEncoding.GSM7, 100, 15300)),
        ("a" * 153 * 100 + "a", (SMSEncoding.GSM7, 101, 15301)),
        # UCS-2 edges: an emoji ends the single part exactly, or cannot.
        ("ж" * 68 + "😀", (SMSEncoding.UCS2, 1, 70)),
        ("ж" * 69 + "😀", (SMSEncoding.UCS2, 2, 71)),
        ("ж" * 66 + "😀" + "ж" * 65, (SMSEncoding.UCS2, 2, 133)),
        ("ж" * 66 + "😀" + "ж" * 66, (SMSEncoding.UCS2, 3, 134)),
        # Extension characters are one UTF-16 unit each once the body is UCS-2.
        ("{" * 69 + "ж", (SMSEncoding.UCS2, 1, 70)),
        ("a" * 150 + "🙂", (SMSEncoding.UCS2, 3, 152)),
        # Cut between code points, not grapheme clusters (docs/delivery.md): the
        # skin tone goes on in part 2, where Android would move the whole emoji.
        ("ж" * 65 + "👍🏽" + "ж" * 64, (SMSEncoding.UCS2, 2, 133)),
    ],
)
def test_boundaries_match_the_standard(body: str, expected: tuple[SMSEncoding, int, int]) -> None:
    """Escape and surrogate pairs at the part edges, CR LF, empty and very long bodies."""
    info = segments(body)
    assert (info.encoding, info.segments, info.units) == expected == reference(body)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Ç", SMSEncoding.GSM7),  # 0x09, the only c with a cedilla in the table
        ("ç", SMSEncoding.UCS2),
        ("àèéìòù", SMSEncoding.GSM7),
        ("á", SMSEncoding.UCS2),  # Spanish acute vowels are not in the table...
        ("í", SMSEncoding.UCS2),
        ("ó", SMSEncoding.UCS2),
        ("ú", SMSEncoding.UCS2),
        ("ñÑ¿¡", SMSEncoding.GSM7),  # ...but these are
        ("É", SMSEncoding.GSM7),
        ("È", SMSEncoding.UCS2),
        ("ΔΦΓΛΩΠΨΣΘΞ", SMSEncoding.GSM7),  # the Greek capitals of rows 0x10-0x1A
        ("\u0391", SMSEncoding.UCS2),  # GREEK CAPITAL ALPHA, not Latin A
        ("\u2126", SMSEncoding.UCS2),  # OHM SIGN, not GREEK CAPITAL OMEGA
        ("δ", SMSEncoding.UCS2),
        ("\u2019", SMSEncoding.UCS2),  # smart quotes
        ("\u201c\u201d", SMSEncoding.UCS2),
        ("\u2013", SMSEncoding.UCS2),  # en dash
        ("\u00a0", SMSEncoding.UCS2),  # non-breaking space
        ("\u2026", SMSEncoding.UCS2),  # ellipsis
        ("`", SMSEncoding.UCS2),  # 0x60 is '¿', there is no backtick
        ("\t", SMSEncoding.UCS2),
        ("¤§¥£$@_", SMSEncoding.GSM7),
    ],
)
def test_which_characters_force_ucs2(text: str, encoding: SMSEncoding) -> None:
    """Lookalikes and near misses of the table are told apart."""
    assert segments(text).encoding is encoding is reference(text)[0]
