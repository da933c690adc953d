"""TwilioSMS refuses a status callback URL Twilio would refuse, when it is made."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput
from escalate.transports.twilio import TwilioSMS
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER


def make(status_callback: str) -> TwilioSMS:
    return TwilioSMS(ACCOUNT_SID, "token", from_=FROM_NUMBER, status_callback=status_callback)


ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": FROM_NUMBER,
}


@pytest.mark.parametrize(
    "url",
    [
        "hooks.acme.example/sms/status",  # the scheme forgotten
        "/sms/status",
        "ftp://hooks.example.com/status",
        "https:///status",
        "https://hooks.example.com/twilio status",
        "https://user:s3cret@hooks.example.com:99999/status",
    ],
)
def test_a_status_callback_that_is_no_absolute_url_is_refused(url: str) -> None:
    """A callback Twilio answers with a 4xx would fail every send for good: refused, unquoted."""
    with pytest.raises(InvalidInput, match="status_callback") as caught:
        make(url)
    assert url not in str(caught.value)
    assert "s3cret" not in str(caught.value)
    with pytest.raises(InvalidInput, match="TWILIO_STATUS_CALLBACK_URL"):
        TwilioSMS.from_env({**ENV, "TWILIO_STATUS_CALLBACK_URL": url})


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/twilio/status",
        "http://hooks.example.com:8080/status?tenant=acme",
        "https://user:pass@hooks.example.com/status",  # basic auth, as Twilio allows
        "https://203.0.113.7/status",
    ],
)
def test_an_absolute_http_url_is_accepted(url: str) -> None:
    """Absolute http(s) URLs, with a port, a query or credentials, are taken as before."""
    assert make(url).status_callback == url


def test_an_empty_variable_still_means_no_callback() -> None:
    """TWILIO_STATUS_CALLBACK_URL set but empty is no callback, as before."""
    assert TwilioSMS.from_env({**ENV, "TWILIO_STATUS_CALLBACK_URL": ""}).status_callback == ""


@given(path=st.text(max_size=30))
def test_a_callback_without_scheme_and_host_is_always_refused(path: str) -> None:
    """Whatever the text, a callback that does not start with http(s)://host is refused."""
    with pytest.raises(InvalidInput):
        make("hooks.example.com/" + path)
