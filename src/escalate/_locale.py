"""Locale tags as escalate reads them: case-insensitive, ``_`` or ``-`` (BCP 47 style)."""

from __future__ import annotations

__all__ = ["language_of", "normal_tag"]


def normal_tag(tag: str) -> str:
    """``pt_BR``, ``PT-br`` and ``pt-BR`` all read as ``pt-br``."""
    return tag.replace("_", "-").lower()


def language_of(tag: str) -> str:
    """The language of a tag: ``es`` for ``es-MX``, ``es_mx`` and ``ES``."""
    return normal_tag(tag).split("-", 1)[0]
