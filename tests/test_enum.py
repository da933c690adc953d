"""escalate's ``StrEnum``: the standard one, with a ``.value`` read without a Python call."""

from __future__ import annotations

import enum
import importlib
import pickle
import pkgutil

import pytest
from pydantic import BaseModel

import escalate
from escalate import Channel, HandoffState
from escalate._enum import StrEnum


def _escalate_str_enums() -> list[type[enum.StrEnum]]:
    found: set[type[enum.StrEnum]] = set()
    for module in pkgutil.walk_packages(escalate.__path__, "escalate."):
        if module.name.endswith("__main__"):
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.StrEnum)
                and value.__module__.startswith("escalate.")
                and value is not StrEnum
            ):
                found.add(value)
    return sorted(found, key=lambda cls: cls.__qualname__)


ENUMS = _escalate_str_enums()


def test_every_escalate_str_enum_has_the_cheap_value() -> None:
    """A new enum that derives from ``enum.StrEnum`` directly would pay the slow ``.value``."""
    assert len(ENUMS) > 10
    assert [cls for cls in ENUMS if not issubclass(cls, StrEnum)] == []


@pytest.mark.parametrize("cls", ENUMS, ids=lambda cls: cls.__qualname__)
def test_value_is_what_enum_itself_reads(cls: type[enum.StrEnum]) -> None:
    """``.value`` of every member is enum's own ``value``, and members still work as enums."""
    standard = enum.Enum.__dict__["value"]
    for member in cls:
        assert member.value == standard.__get__(member, cls)
        assert type(member.value) is str
        assert cls(member.value) is member
        assert str(member) == member.value
        assert pickle.loads(pickle.dumps(member)) is member
    assert "value" not in cls.__members__


def test_pydantic_writes_and_reads_the_value() -> None:
    """pydantic's JSON encoder reads ``.value``: the text and the round trip are unchanged."""

    class Record(BaseModel):
        state: HandoffState
        channel: Channel | None = None

    record = Record(state=HandoffState.CONNECTED, channel=Channel.SMS)
    assert record.model_dump_json() == '{"state":"connected","channel":"sms"}'
    assert record.model_dump(mode="json") == {"state": "connected", "channel": "sms"}
    assert Record.model_validate_json(record.model_dump_json()) == record
