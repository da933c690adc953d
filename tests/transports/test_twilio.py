"""TwilioSMS: what it posts, what it returns, how it is configured."""

from __future__ import annotations

import traceback
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Channel, DeliveryStatus, InvalidInput, InvalidRecipient, Transport
from escalate.transports.twilio import STATUS_CALLBACK_PARAM, STATUSES, TwilioSMS, _with_id
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER, email, sms
from tests.transports.stub_server import StubServer


def make(url: str, **options: object) -> TwilioSMS:
    settings: dict[str, object] = {"from_": FROM_NUMBER, "base_url": url, "timeout": 2.0}
    settings.update(options)
    return TwilioSMS(ACCOUNT_SID, "token", **settings)  # type: ignore[arg-type]


def test_is_a_transport_for_sms_and_whatsapp() -> None:
    """TwilioSMS satisfies the Transport protocol and serves SMS and WhatsApp."""
    transport = make("http://127.0.0.1:9")
    assert isinstance(transport, Transport)
    assert transport.channels == {Channel.SMS, Channel.WHATSAPP}


def test_paces_per_number_or_messaging_service() -> None:
    """The Pacer's key (`sender`) is the From number, or the Messaging Service when set."""
    assert make("http://127.0.0.1:9").sender == FROM_NUMBER
    service = "MG" + "0" * 32
    assert make("http://127.0.0.1:9", from_=None, messaging_service_sid=service).sender == service


def test_sms_posts_to_from_body_and_callback_with_our_id(stub: StubServer) -> None:
    """An SMS posts To, From, Body and a StatusCallback that names our message id."""
    transport = make(stub.url, status_callback="https://hooks.example/twilio/status?tenant=a")
    result = transport.send(sms("ob_42"))
    (request,) = stub.received
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.form["To"] == "+14155550100"
    assert request.form["From"] == FROM_NUMBER
    assert "K7QP-3M" in request.form["Body"]
    callback = urlsplit(request.form["StatusCallback"])
    assert dict(parse_qsl(callback.query)) == {"tenant": "a", STATUS_CALLBACK_PARAM: "ob_42"}
    assert result.provider == "twilio"
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("SM")
    assert result.status is DeliveryStatus.QUEUED


def test_messaging_service_replaces_from(stub: StubServer) -> None:
    """With a Messaging Service the request carries MessagingServiceSid and no From."""
    service = "MG" + "a" * 32
    make(stub.url, from_=None, messaging_service_sid=service).send(sms())
    (request,) = stub.received
    assert request.form["MessagingServiceSid"] == service
    assert "From" not in request.form
    assert "StatusCallback" not in request.form


def test_whatsapp_uses_the_whatsapp_address_form(stub: StubServer) -> None:
    """A WhatsApp message goes to and from ``whatsapp:+E164``."""
    message = sms().model_copy(update={"channel": Channel.WHATSAPP})
    make(stub.url).send(message)
    (request,) = stub.received
    assert request.form["To"] == "whatsapp:+14155550100"
    assert request.form["From"] == "whatsapp:" + FROM_NUMBER


def test_an_email_address_is_refused_before_any_request(stub: StubServer) -> None:
    """Twilio cannot text an email address: a permanent error, and nothing is posted."""
    with pytest.raises(InvalidRecipient):
        make(stub.url).send(email())
    assert stub.received == []


def test_needs_a_sender() -> None:
    """Neither From nor a Messaging Service is a configuration error, raised at once."""
    with pytest.raises(InvalidInput, match="from_ or messaging_service_sid"):
        TwilioSMS(ACCOUNT_SID, "token")


def test_from_env_reads_the_twilio_variables() -> None:
    """from_env reads TWILIO_* variables, and keyword overrides win."""
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "secret-token",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "b" * 32,
        "TWILIO_STATUS_CALLBACK_URL": "https://hooks.example/status",
    }
    transport = TwilioSMS.from_env(env, name="twilio-us")
    assert transport.name == "twilio-us"
    assert transport.messaging_service_sid == "MG" + "b" * 32
    assert transport.status_callback == "https://hooks.example/status"
    assert "secret-token" not in repr(transport)


@pytest.mark.parametrize(
    ("missing", "variable"),
    [("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"), ("TWILIO_FROM_NUMBER", "TWILIO_FROM_NUMBER")],
)
def test_from_env_names_the_missing_variable(missing: str, variable: str) -> None:
    """A missing variable raises InvalidInput naming it."""
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
    }
    del env[missing]
    with pytest.raises(InvalidInput, match=variable):
        TwilioSMS.from_env(env)


def test_error_message_does_not_quote_the_number(stub: StubServer) -> None:
    """Twilio's error text can contain the phone number; ours does not, raw keeps it."""
    from tests.transports.stub_server import Fault

    stub.script(
        Fault(status=400, body={"code": 21211, "message": "The 'To' number +14155550100 is bad"})
    )
    with pytest.raises(InvalidRecipient) as caught:
        make(stub.url).send(sms())
    assert "5550100" not in str(caught.value)
    assert "5550100" in str(caught.value.raw)
    # Nor in a logged traceback: the SDK's exception, which quotes it, is not chained.
    assert "5550100" not in "".join(traceback.format_exception(caught.value))


def test_every_status_maps_to_a_delivery_status() -> None:
    """Twilio's message statuses map to normalized ones; an unknown one is UNKNOWN."""
    assert STATUSES["delivered"] is DeliveryStatus.DELIVERED
    assert STATUSES["undelivered"] is DeliveryStatus.FAILED
    assert STATUSES.get("new-status", DeliveryStatus.UNKNOWN) is DeliveryStatus.UNKNOWN


@given(
    message_id=st.text(min_size=1, max_size=40),
    query=st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=8)), max_size=3),
)
def test_status_callback_keeps_its_query_and_adds_our_id(
    message_id: str, query: list[tuple[str, str]]
) -> None:
    """Whatever the base URL's query and our id, both survive the round trip."""
    from urllib.parse import urlencode

    base = "https://hooks.example/status" + ("?" + urlencode(query) if query else "")
    parsed = parse_qsl(urlsplit(_with_id(base, message_id)).query, keep_blank_values=True)
    assert parsed[-1] == (STATUS_CALLBACK_PARAM, message_id)
    assert parsed[:-1] == query
