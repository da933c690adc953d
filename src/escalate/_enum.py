"""``StrEnum`` for escalate's enums: the standard one, with a cheaper ``.value``.

The standard ``Enum.value`` is a Python-level descriptor (``enum.property``)
calling a Python function, so each read costs two Python calls. A handoff's
lifecycle reads about 85 values (SQL parameters, and pydantic's JSON encoder,
which reads ``.value`` of every enum field it writes); a plain ``property``
over a C ``attrgetter`` reads the same ``_value_`` with no Python call.
"""

from __future__ import annotations

import enum
from operator import attrgetter
from typing import TYPE_CHECKING

__all__ = ["StrEnum"]


class StrEnum(enum.StrEnum):
    """``enum.StrEnum`` whose members' ``.value`` is read without a Python call."""

    if not TYPE_CHECKING:  # typed as enum's own, member by member
        value = property(attrgetter("_value_"), doc="The member's value.")
