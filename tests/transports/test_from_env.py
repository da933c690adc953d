"""Every provider's ``from_env``: its keyword overrides are the constructor's, checked.

One case per provider (anymail style): the environment it needs, its
``TypedDict`` of overrides, and a right and a wrong value for one override.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import EscalateError, InvalidInput
from escalate.transports.sendgrid import SendGridEmail, SendGridOptions
from escalate.transports.smtp import SMTPEmail, SMTPOptions
from escalate.transports.twilio import TwilioOptions, TwilioSMS
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER


@dataclass(frozen=True)
class Case:
    cls: type[Any]
    options: object
    env: Mapping[str, str]


CASES = {
    "twilio": Case(
        TwilioSMS,
        TwilioOptions,
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
        },
    ),
    "sendgrid": Case(
        SendGridEmail,
        SendGridOptions,
        {"SENDGRID_API_KEY": "SG.secret-key", "SENDGRID_FROM_EMAIL": "help@acme.example"},
    ),
    "smtp": Case(
        SMTPEmail, SMTPOptions, {"SMTP_HOST": "smtp.example", "SMTP_FROM_EMAIL": "a@acme.example"}
    ),
}

cases = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


class CountingEnv(Mapping[str, str]):
    """An environment that counts its reads: a refused call must not have read it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.reads = 0

    def __getitem__(self, key: str) -> str:
        self.reads += 1
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@pytest.fixture
def no_construction(monkeypatch: pytest.MonkeyPatch) -> Callable[[type[Any]], None]:
    """Make building ``cls`` fail the test: a refused override builds nothing."""

    def refuse(cls: type[Any]) -> None:
        def init(self: object, *args: object, **kwargs: object) -> None:
            pytest.fail(f"{cls.__name__} was built")

        monkeypatch.setattr(cls, "__init__", init)

    return refuse


@cases
def test_the_overrides_are_the_constructor_arguments(case: Case) -> None:
    """The TypedDict names every constructor argument with its type: one source of truth."""
    signature = inspect.signature(case.cls.__init__)
    hints = get_type_hints(case.cls.__init__)
    constructor = {name: hints[name] for name in signature.parameters if name != "self"}
    assert get_type_hints(case.options) == constructor


@cases
def test_a_misspelt_override_is_invalid_input_naming_it(
    case: Case, no_construction: Callable[[type[Any]], None]
) -> None:
    """``from_env(timout=...)`` is InvalidInput naming the keyword; nothing is read or built."""
    env = CountingEnv(case.env)
    no_construction(case.cls)
    with pytest.raises(InvalidInput, match="unknown keyword 'timout'") as raised:
        case.cls.from_env(env, timout=5.0)
    assert isinstance(raised.value, EscalateError)
    assert "timeout" in str(raised.value)  # the message lists what it takes
    assert env.reads == 0


@cases
@pytest.mark.parametrize("value", ["5", None, True, b"5"])
def test_an_override_of_the_wrong_type_is_invalid_input(
    case: Case, value: object, no_construction: Callable[[type[Any]], None]
) -> None:
    """``timeout="5"`` was kept as it was, to fail at the first send; now from_env refuses it."""
    no_construction(case.cls)
    with pytest.raises(InvalidInput, match=r"timeout must be float, not \w+"):
        case.cls.from_env(case.env, timeout=value)


@cases
def test_a_wrong_value_is_not_quoted(case: Case) -> None:
    """A secret passed where it does not belong (bytes for a str) is named by its type only."""
    key = next(name for name, hint in get_type_hints(case.options).items() if hint is str)
    with pytest.raises(InvalidInput, match=f"{key} must be str, not bytes") as raised:
        case.cls.from_env(case.env, **{key: b"hunter2-secret"})
    assert "hunter2" not in str(raised.value)


@cases
def test_overrides_of_the_right_type_win(case: Case) -> None:
    """An int timeout is a float (as to a type checker), and ``name`` overrides the default."""
    transport = case.cls.from_env(case.env, timeout=3, name="primary")
    assert transport.name == "primary"
    transport.close()


def test_an_optional_override_may_be_none() -> None:
    """``from_=None`` with a Messaging Service sends through the service, not the env's number."""
    transport = TwilioSMS.from_env(
        CASES["twilio"].env, from_=None, messaging_service_sid="MG" + "0" * 32
    )
    assert transport.sender == "MG" + "0" * 32


def test_smtp_port_override_is_an_int() -> None:
    """``port="2525"`` would have gone to smtplib as text; an int is taken as it is."""
    assert SMTPEmail.from_env(CASES["smtp"].env, port=2525).port == 2525
    with pytest.raises(InvalidInput, match="port must be int, not str"):
        SMTPEmail.from_env(CASES["smtp"].env, port="2525")


@given(key=st.text(min_size=1, max_size=20).filter(str.isidentifier))
def test_any_keyword_not_taken_is_refused(key: str) -> None:
    """Whatever keyword the constructor does not take is refused by name, for every provider."""
    for case in CASES.values():
        if key in get_type_hints(case.options) or key == "environ":
            continue
        with pytest.raises(InvalidInput, match="unknown keyword") as raised:
            case.cls.from_env(case.env, **{key: "x"})
        assert repr(key) in str(raised.value)


def test_a_port_override_wins_over_an_unreadable_smtp_port() -> None:
    """Kubernetes sets ``SMTP_PORT=tcp://10.0.0.7:25`` for a service named ``smtp``: a
    ``port=`` override replaces it unread, where it used to be refused for it."""
    env = {**CASES["smtp"].env, "SMTP_PORT": "tcp://10.0.0.7:25"}
    assert SMTPEmail.from_env(env, port=2525).port == 2525
    with pytest.raises(InvalidInput, match="SMTP_PORT is not a port number"):
        SMTPEmail.from_env(env)
