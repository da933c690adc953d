"""``StrEnum`` for escalate's enums: the standard one, with a cheaper ``.value``;
and ``member_of``, reading a caller's value as a member with a typed error.

The standard ``Enum.value`` is a Python-level descriptor (``enum.property``)
calling a Python function, so each read costs two Python calls. A handoff's
lifecycle reads about 85 values (SQL parameters, and pydantic's JSON encoder,
which reads ``.value`` of every enum field it writes); a plain ``property``
over a C ``attrgetter`` reads the same ``_value_`` with no Python call.
"""

from __future__ import annotations

import enum
from operator import attrgetter
from typing import TYPE_CHECKING, TypeVar

from escalate._exceptions import InvalidInput

__all__ = ["StrEnum", "member_of"]

E = TypeVar("E", bound=enum.Enum)


class StrEnum(enum.StrEnum):
    """``enum.StrEnum`` whose members' ``.value`` is read without a Python call."""

    if not TYPE_CHECKING:  # typed as enum's own, member by member
        value = property(attrgetter("_value_"), doc="The member's value.")


def member_of(kind: type[E], value: object, name: str) -> E:
    """``kind(value)``, or ``InvalidInput`` naming the argument and its valid values."""
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in kind)
        raise InvalidInput(f"{name} must be one of {valid}, not {value!r}") from None
