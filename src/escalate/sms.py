"""SMS segment counting: how many parts a body is sent as, and in which encoding.

A body that fits the GSM 03.38 default alphabet travels as 7-bit septets (the
extension-table characters ``^{}\\[~]|€`` and form feed take an escape septet
each, so two); anything else forces UCS-2, where every UTF-16 code unit counts
(an emoji outside the BMP is a surrogate pair: two units). A single message holds
160 septets or 70 units; a concatenated one loses room to its header (UDH) and
holds 153 or 67 per part. An escape pair or a surrogate pair is never split
across two parts, so packing is greedy per character (code point). Grapheme
clusters (an emoji ZWJ sequence, a base letter and its combining mark) are not
kept whole (Python's standard library cannot segment them); Android and Twilio's
segment calculator, which do, may count one part more at a boundary.
Providers bill per segment, so the engine records this on every outbound SMS.
"""

from __future__ import annotations

from dataclasses import dataclass

from escalate._enum import StrEnum

__all__ = ["MAX_SMS_CHARS", "SMSEncoding", "SegmentInfo", "segments"]

# The default alphabet (3GPP TS 23.038 6.2.1), without the escape code itself.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table (6.2.1.1): each is sent as ESC + one septet.
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7 = _GSM7_BASIC | _GSM7_EXTENSION

#: The longest body the SMS providers take as one message: Twilio refuses more
#: than 1,600 characters for good (error 21617), so a longer text would fail its send.
MAX_SMS_CHARS = 1_600

_LIMITS = {
    # encoding: (single-part capacity, per-part capacity when concatenated)
    "GSM-7": (160, 153),
    "UCS-2": (70, 67),
}


class SMSEncoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class SegmentInfo:
    """How an SMS body is sent.

    Attributes:
        encoding: ``GSM-7`` or ``UCS-2``.
        segments: how many messages the body is split into (at least 1).
        units: the body's size in septets (GSM-7) or UTF-16 code units (UCS-2).
    """

    encoding: SMSEncoding
    segments: int
    units: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 alphabet or its extension."""
    return _GSM7.issuperset(text)


def _widths(text: str, encoding: SMSEncoding) -> list[int]:
    if encoding is SMSEncoding.GSM7:
        return [2 if char in _GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _units(text: str, encoding: SMSEncoding) -> int:
    """The body's size: septets (escaped characters count two) or UTF-16 code units."""
    if encoding is SMSEncoding.GSM7:
        return len(text) + sum(text.count(char) for char in _GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def segments(body: str) -> SegmentInfo:
    """Count the segments ``body`` is sent as.

    >>> segments("Hi, case K7QP-3M is open")
    SegmentInfo(encoding=<SMSEncoding.GSM7: 'GSM-7'>, segments=1, units=24)
    >>> segments("café ☕").encoding.value
    'UCS-2'
    """
    encoding = SMSEncoding.GSM7 if is_gsm7(body) else SMSEncoding.UCS2
    units = _units(body, encoding)
    single, per_part = _LIMITS[encoding.value]
    if units <= single:
        return SegmentInfo(encoding, 1, units)
    widths = _widths(body, encoding)
    parts, used = 1, 0
    for width in widths:
        if used + width > per_part:  # the pair would straddle a part boundary
            parts, used = parts + 1, 0
        used += width
    return SegmentInfo(encoding, parts, units)
