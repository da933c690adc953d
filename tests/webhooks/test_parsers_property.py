"""Whatever a provider (or an attacker) posts, the parsers answer with records or a typed error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput, WebhookSignatureError
from escalate.testing import FakeClock
from escalate.webhooks import DeliveryReport, ProviderEvent
from escalate.webhooks.sendgrid import SendGridWebhook
from escalate.webhooks.twilio import TwilioWebhook
from tests.webhooks.signing import TWILIO_TOKEN, SendGridKey, twilio_request

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
KEY = SendGridKey()
TWILIO = TwilioWebhook(TWILIO_TOKEN, clock=FakeClock(NOW))
SENDGRID = SendGridWebhook(KEY.public, clock=FakeClock(NOW))
FIELD = st.sampled_from(["From", "To", "Body", "MessageSid", "MessageStatus", "ErrorCode"])
FORM = st.dictionaries(FIELD | st.text(max_size=8), st.text(max_size=30), max_size=8)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON: Any = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
EVENT = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["delivered", "bounce", "unsubscribe", "open"]) | JSON,
        "timestamp": st.integers(min_value=-(10**20), max_value=10**20) | JSON,
        "email": st.emails() | JSON,
        "sg_message_id": JSON,
        "escalate_id": JSON,
        "custom_args": JSON,
        "type": JSON,
        "status": JSON,
        "reason": JSON,
    },
)


@given(FORM)
def test_signed_twilio_forms_parse_or_raise_typed(form: dict[str, str]) -> None:
    """Any signed form gives a message or report, or an InvalidInput; never another error."""
    request = twilio_request(form)
    try:
        record = TWILIO.parse(*request)
    except InvalidInput:
        return
    assert record.provider == "twilio"


@given(st.binary(max_size=200), st.dictionaries(st.text(max_size=30), st.text(max_size=40)))
def test_unsigned_twilio_bytes_are_refused(body: bytes, headers: dict[str, str]) -> None:
    """Arbitrary bytes and headers never get past verification, and never crash it."""
    try:
        TWILIO.parse("https://hooks.example.com/twilio", headers, body)
    except (WebhookSignatureError, InvalidInput):
        return
    raise AssertionError("an unsigned request was accepted")


@given(st.lists(EVENT | JSON, max_size=5) | JSON)
def test_signed_sendgrid_json_parses_or_raises_typed(events: Any) -> None:
    """Any signed JSON gives records (one per readable event at most two) or a typed error."""
    try:
        records = SENDGRID.parse(*KEY.request(json.dumps(events).encode(), NOW))
    except InvalidInput:
        assert not isinstance(events, list)
        return
    assert isinstance(events, list)
    assert len(records) <= 2 * len(events)
    assert all(isinstance(r, DeliveryReport | ProviderEvent) for r in records)


@given(st.binary(max_size=200), st.dictionaries(st.text(max_size=40), st.text(max_size=40)))
def test_unsigned_sendgrid_bytes_are_refused(body: bytes, headers: dict[str, str]) -> None:
    """Arbitrary bytes and headers raise a typed error, never anything else."""
    try:
        SENDGRID.parse(None, headers, body)
    except (WebhookSignatureError, InvalidInput):
        return
    raise AssertionError("an unsigned request was accepted")


@given(st.binary(max_size=200))
def test_insecure_parsers_raise_only_typed_errors(body: bytes) -> None:
    """Without verification, garbage still ends in a typed error at worst."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twilio = TwilioWebhook(None, insecure=True)
        sendgrid = SendGridWebhook(None, insecure=True)
    for parse in (
        lambda: twilio.parse("https://h.example.com/t", {}, body),
        lambda: sendgrid.parse(None, {}, body),
    ):
        try:
            parse()
        except InvalidInput:
            continue  # the only error allowed: anything else fails the test
