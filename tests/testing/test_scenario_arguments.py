"""``Scenario.assert_sent`` refuses bad arguments with ``InvalidInput``, not "found 0"."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Channel, InvalidIdentity, InvalidInput
from escalate.testing import Scenario


@pytest.fixture
def scenario() -> Iterator[Scenario]:
    with Scenario(strict=False) as s:
        s.post_publicly()
        s.customer_provides(phone="+14155550142")
        yield s


def test_an_unknown_channel_names_the_valid_ones(scenario: Scenario) -> None:
    """Was ``ValueError: 'fax' is not a valid Channel``."""
    with pytest.raises(InvalidInput, match="'sms', 'email', 'whatsapp'") as caught:
        scenario.assert_sent(0, channel="fax")
    assert "'fax'" in str(caught.value)


@given(st.text(max_size=10).filter(lambda name: name not in {c.value for c in Channel}))
def test_no_other_text_is_a_channel(name: str) -> None:
    with Scenario(strict=False) as s, pytest.raises(InvalidInput, match="channel must be one of"):
        s.assert_sent(0, channel=name)


def test_a_channel_is_taken_as_text_or_as_the_enum(scenario: Scenario) -> None:
    assert len(scenario.assert_sent(1, channel="sms")) == 1
    assert scenario.assert_sent(0, channel=Channel.EMAIL) == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"count": -1}, "count must be an int >= 0"),
        ({"count": "1"}, "count must be an int >= 0"),
        ({"count": True}, "count must be an int >= 0"),
        ({"channel": 5}, "channel must be one of"),
        ({"to": 4155550142}, "to= must be an address or an Identity"),
        ({"containing": 3}, "containing= must be text"),
    ],
)
def test_other_bad_arguments_are_refused(
    scenario: Scenario, arguments: dict[str, object], named: str
) -> None:
    count = arguments.pop("count", 1)
    with pytest.raises(InvalidInput, match=named):
        scenario.assert_sent(count, **arguments)  # type: ignore[arg-type]
    # Nothing was examined by the refused call.
    assert len(scenario.assert_sent(1)) == 1


def test_an_address_that_does_not_normalize_is_an_identity_error(scenario: Scenario) -> None:
    with pytest.raises(InvalidIdentity):
        scenario.assert_sent(0, to="not a phone")


def test_a_refused_sqlite_scenario_leaves_no_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: each refused Scenario(store="sqlite") left its directory behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(InvalidInput):
        Scenario(store="sqlite", tenant="")
    assert list(tmp_path.iterdir()) == []
