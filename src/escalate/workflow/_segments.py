"""SMS segment counting (GSM-7 or UCS-2), for reporting what a template costs.

TEMPORARY: a minimal private helper for the workflow's template report. It is to
be replaced by ``escalate.sms.segments`` (being written in another branch) at
merge; keep its callers to ``sms_segments(text) -> SmsCost``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SmsCost", "sms_segments"]

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsCost:
    """How an SMS body is encoded and how many segments it is billed as."""

    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


def sms_segments(text: str) -> SmsCost:
    """Encoding and segment count of ``text`` (160/153 septets, or 70/67 UTF-16 units)."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text):
        units = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    return SmsCost(encoding=encoding, segments=segments, units=units)
