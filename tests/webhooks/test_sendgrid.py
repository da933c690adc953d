"""SendGridWebhook: ECDSA signature and timestamp checks, and the event table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from escalate import DeliveryStatus, Identity, InvalidInput, InvalidWebhookPayload
from escalate.testing import FakeClock
from escalate.webhooks import DeliveryReport, ProviderEvent, WebhookParser
from escalate.webhooks.sendgrid import SendGridWebhook
from tests.webhooks.security import Request, WebhookSecurityContract
from tests.webhooks.signing import SendGridKey

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
KEY = SendGridKey()


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "email": "Jane@Example.com",
        "timestamp": int(NOW.timestamp()),
        "event": name,
        "sg_event_id": "ev-1",
        "sg_message_id": "abc123.filter0001.1.0",
        "escalate_id": "msg_1",
        **fields,
    }


def parser(**options: Any) -> SendGridWebhook:
    return SendGridWebhook(KEY.public, clock=FakeClock(NOW), **options)


class TestSendGridSecurity(WebhookSecurityContract):
    """The shared webhook security suite, for SendGrid."""

    signature_header = "X-Twilio-Email-Event-Webhook-Signature"

    def parser(self, secret: str | None = "default", **options: Any) -> WebhookParser:
        return SendGridWebhook(
            KEY.public if secret == "default" else secret, clock=FakeClock(NOW), **options
        )

    def wrong_secret(self) -> str:
        return SendGridKey().public

    def signed(self) -> Request:
        return KEY.request([event("unsubscribe")], NOW)


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6), timedelta(days=7)])
def test_a_timestamp_outside_the_skew_is_refused(age: timedelta) -> None:
    """A validly signed request stamped too far from our clock (a replay) is refused."""
    from escalate import WebhookSignatureError

    with pytest.raises(WebhookSignatureError, match="skew"):
        parser().parse(*KEY.request([event("delivered")], NOW - age))
    assert parser().parse(*KEY.request([event("delivered")], NOW - timedelta(minutes=4)))


def test_a_resigned_timestamp_does_not_verify() -> None:
    """Changing the timestamp header breaks the signature: it is signed with the body."""
    from escalate import WebhookSignatureError

    url, headers, body = KEY.request([event("delivered")], NOW)
    headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(int(NOW.timestamp()) + 1)
    with pytest.raises(WebhookSignatureError, match="ECDSA"):
        parser().parse(url, headers, body)
    headers["X-Twilio-Email-Event-Webhook-Timestamp"] = "yesterday"
    with pytest.raises(WebhookSignatureError, match="epoch"):
        parser().parse(url, headers, body)


def test_a_bad_key_or_skew_is_bad_input() -> None:
    """A verification key that is not an EC key, or a non-positive skew, fails construction."""
    with pytest.raises(InvalidInput):
        SendGridWebhook("bm90IGEga2V5")
    with pytest.raises(InvalidInput):
        SendGridWebhook(KEY.public, max_skew=timedelta(0))


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("processed", DeliveryStatus.QUEUED),
        ("deferred", DeliveryStatus.QUEUED),
        ("delivered", DeliveryStatus.DELIVERED),
        ("dropped", DeliveryStatus.FAILED),
    ],
)
def test_delivery_events(name: str, status: DeliveryStatus) -> None:
    """Delivery events become DeliveryReports keyed to our escalate_id."""
    [report] = parser().parse(*KEY.request([event(name, reason="Invalid SMTPAPI header")], NOW))
    assert isinstance(report, DeliveryReport)
    assert (report.status, report.provider_status, report.message_id) == (status, name, "msg_1")
    assert report.provider_message_id == "abc123.filter0001.1.0"
    assert report.address == Identity.email("jane@example.com")
    assert report.at == NOW
    assert report.raw["sg_event_id"] == "ev-1"


@pytest.mark.parametrize(
    "name", ["unsubscribe", "group_unsubscribe", "spamreport", "open", "click", "brand_new"]
)
def test_other_events_are_provider_events(name: str) -> None:
    """Unsubscribes, spam reports, engagement and unknown events become ProviderEvents."""
    [record] = parser().parse(*KEY.request([event(name)], NOW))
    assert isinstance(record, ProviderEvent)
    assert (record.event, record.message_id, record.at) == (name, "msg_1", NOW)


def test_a_hard_bounce_is_a_failure_and_a_suppression_a_block_only_a_failure() -> None:
    """bounce (type bounce) gives a failed report and a bounce event; type blocked a blocked one."""
    hard, soft = (
        parser().parse(*KEY.request([event("bounce", type="bounce", status="5.1.1")], NOW)),
        parser().parse(*KEY.request([event("bounce", type="blocked", status="4.0.0")], NOW)),
    )
    assert [type(r).__name__ for r in hard] == ["DeliveryReport", "ProviderEvent"]
    assert hard[0].status is DeliveryStatus.FAILED
    assert hard[0].error_code == "5.1.1"
    assert hard[1].event == "bounce"
    assert soft[1].event == "blocked"


def test_custom_args_nested_or_top_level() -> None:
    """escalate_id is read from top-level custom args or a nested custom_args object."""
    nested = {k: v for k, v in event("delivered").items() if k != "escalate_id"}
    nested["custom_args"] = {"escalate_id": "msg_2"}
    foreign = {k: v for k, v in event("delivered").items() if k != "escalate_id"}
    a, b = parser().parse(*KEY.request([nested, foreign], NOW))
    assert isinstance(a, DeliveryReport)
    assert isinstance(b, DeliveryReport)
    assert (a.message_id, b.message_id) == ("msg_2", None)


def test_the_key_ignores_sg_event_id() -> None:
    """A retry with a new sg_event_id has the same content key; another event does not."""
    first, retry, other = parser().parse(
        *KEY.request(
            [event("delivered"), event("delivered", sg_event_id="ev-2"), event("processed")], NOW
        )
    )
    assert first.key == retry.key != other.key


def test_unreadable_events_are_skipped_and_the_rest_kept() -> None:
    """An event without a name or timestamp is skipped; the batch's good events survive."""
    records = parser().parse(
        *KEY.request([1, {"event": "delivered"}, event("delivered"), {"timestamp": 1}], NOW)
    )
    assert len(records) == 1


@pytest.mark.parametrize("body", [b"{}", b"not json", b"\xff\xfe", b"[" * 100_000])
def test_a_body_that_is_not_a_json_array_is_a_payload_error(body: bytes) -> None:
    """A signed body that is not a JSON array of events is InvalidWebhookPayload."""
    with pytest.raises(InvalidWebhookPayload):
        parser().parse(*KEY.request(body, NOW))


@pytest.mark.parametrize(
    "reason", ["Unsubscribed Address", "Bounced Address", "Spam Reporting Address"]
)
def test_a_drop_for_a_suppressed_address_is_a_suppression_too(reason: str) -> None:
    """SendGrid dropped it because the address is on its suppression list: a failure and a fact."""
    report, fact = parser().parse(*KEY.request([event("dropped", reason=reason)], NOW))
    assert isinstance(report, DeliveryReport)
    assert report.status is DeliveryStatus.FAILED
    assert isinstance(fact, ProviderEvent)
    assert (fact.event, fact.address) == ("suppressed", Identity.email("jane@example.com"))
    assert fact.key != report.key


@pytest.mark.parametrize("reason", ["Invalid SMTPAPI header", "Recipient List over Package Quota"])
def test_a_drop_for_another_reason_is_only_a_failure(reason: str) -> None:
    [report] = parser().parse(*KEY.request([event("dropped", reason=reason)], NOW))
    assert report.status is DeliveryStatus.FAILED
