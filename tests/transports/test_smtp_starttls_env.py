"""SMTP_STARTTLS is read strictly: a value that says neither on nor off is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput
from escalate.transports.smtp import SMTPEmail

BASE = {"SMTP_HOST": "smtp.example.com", "SMTP_FROM_EMAIL": "help@acme.example"}
ON = ("true", "yes", "on", "1")
OFF = ("false", "no", "off", "0")


def _spelled(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of ``words`` in any letter case, with surrounding whitespace."""
    pad = st.sampled_from(["", " ", "\t", "\n"])
    word = st.sampled_from(words).flatmap(
        lambda w: st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in w)).map("".join)
    )
    return st.tuples(pad, word, pad).map("".join)


@given(value=_spelled(ON) | st.sampled_from(["", "  "]))
def test_on_spellings_and_unset_keep_starttls(value: str) -> None:
    """true/yes/on/1 in any case, blank or unset, keep STARTTLS on."""
    assert SMTPEmail.from_env({**BASE, "SMTP_STARTTLS": value})._starttls is True
    assert SMTPEmail.from_env(BASE)._starttls is True


@given(value=_spelled(OFF))
def test_off_spellings_turn_starttls_off(value: str) -> None:
    """false/no/off/0 in any case turn STARTTLS off."""
    assert SMTPEmail.from_env({**BASE, "SMTP_STARTTLS": value})._starttls is False


@given(value=st.text(min_size=1).filter(lambda v: v.strip().lower() not in (*ON, *OFF, "")))
def test_any_other_value_is_refused_naming_the_variable(value: str) -> None:
    """An unreadable value is InvalidInput naming SMTP_STARTTLS and the accepted values."""
    with pytest.raises(InvalidInput, match="SMTP_STARTTLS must be one of") as caught:
        SMTPEmail.from_env({**BASE, "SMTP_STARTTLS": value})
    assert "false, no, off, 0" in str(caught.value)


@pytest.mark.parametrize("value", ["nope", "disabled", "enable", "2"])
def test_common_slips_are_refused(value: str) -> None:
    """Values a person might type that mean nothing here do not leave TLS to chance."""
    with pytest.raises(InvalidInput, match="SMTP_STARTTLS"):
        SMTPEmail.from_env({**BASE, "SMTP_STARTTLS": value})


def test_an_override_wins_over_an_unreadable_value() -> None:
    """from_env(starttls=...) decides unread, as a port override does for SMTP_PORT."""
    email = SMTPEmail.from_env({**BASE, "SMTP_STARTTLS": "nope"}, starttls=False)
    assert email._starttls is False
