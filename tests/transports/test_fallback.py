"""FallbackTransport: the next provider only when one fails permanently for its own reasons."""

from __future__ import annotations

import pytest

from escalate import (
    Channel,
    Identity,
    InvalidInput,
    InvalidRecipient,
    OutboundMessage,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    TransportError,
    UnknownOutcomeError,
)
from escalate.testing import MemoryTransport
from escalate.transports import FallbackTransport, Transport

EMAIL = OutboundMessage(
    id="ob_1",
    idempotency_key="k1",
    channel=Channel.EMAIL,
    to=Identity.email("jane@example.com"),
    body="Case K7QP-3M: we are on it.",
)


def pair() -> tuple[MemoryTransport, MemoryTransport, FallbackTransport]:
    primary = MemoryTransport([Channel.EMAIL], name="sendgrid")
    backup = MemoryTransport([Channel.EMAIL], name="smtp")
    return primary, backup, FallbackTransport([primary, backup])


def test_is_a_transport_serving_every_inner_channel() -> None:
    """The combinator fits the Transport protocol and serves the union of channels."""
    combined = FallbackTransport([MemoryTransport([Channel.EMAIL]), MemoryTransport([Channel.SMS])])
    assert isinstance(combined, Transport)
    assert combined.channels == {Channel.EMAIL, Channel.SMS}


def test_primary_serves_when_it_accepts() -> None:
    """With a healthy primary, the backup is never called."""
    primary, backup, combined = pair()
    assert combined.send(EMAIL).provider == "sendgrid"
    assert (len(primary.sent), len(backup.attempts)) == (1, 0)


def test_provider_permanent_failure_falls_through() -> None:
    """A permanent failure about the provider (a revoked API key) tries the next one."""
    primary, backup, combined = pair()
    primary.fail_next(PermanentTransportError("key revoked", provider="sendgrid", code="401"))
    assert combined.send(EMAIL).provider == "smtp"
    assert [m.id for m in backup.sent] == ["ob_1"]


@pytest.mark.parametrize(
    "error",
    [
        InvalidRecipient("hard bounce", provider="sendgrid"),
        RecipientOptedOut("unsubscribed", provider="sendgrid"),
        UnknownOutcomeError("timeout after send", provider="sendgrid"),
        RetryableTransportError("429", provider="sendgrid", retry_after=5),
    ],
)
def test_recipient_unknown_and_retryable_errors_do_not_fall_through(
    error: TransportError,
) -> None:
    """Recipient problems, unknown outcomes and retryable errors surface; no backup is tried."""
    primary, backup, combined = pair()
    primary.fail_next(error)
    with pytest.raises(type(error)):
        combined.send(EMAIL)
    assert backup.attempts == []


def test_all_failing_raises_the_last_permanent_error() -> None:
    """When every provider refuses, the last provider's error is raised."""
    primary, backup, combined = pair()
    primary.fail_next(PermanentTransportError("suspended", provider="sendgrid"))
    backup.fail_next(PermanentTransportError("auth failed", provider="smtp"))
    with pytest.raises(PermanentTransportError) as caught:
        combined.send(EMAIL)
    assert caught.value.provider == "smtp"


def test_channel_no_inner_transport_serves_is_refused_and_close_closes_all() -> None:
    """A message on an unserved channel fails permanently; close() closes every provider."""
    primary, backup, combined = pair()
    sms = EMAIL.model_copy(update={"channel": Channel.SMS})
    with pytest.raises(PermanentTransportError):
        combined.send(sms)
    combined.close()
    assert primary.closed
    assert backup.closed
    with pytest.raises(InvalidInput):
        FallbackTransport([])


def test_a_provider_failing_for_good_is_logged_by_name_and_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Operations hear that the preferred provider is down; the recipient is never logged."""
    primary, _, combined = pair()
    primary.fail_next(
        PermanentTransportError(
            "account suspended while sending to jane@example.com", provider="sendgrid", code="403"
        )
    )
    with caplog.at_level("WARNING", logger="escalate"):
        assert combined.send(EMAIL).provider == "smtp"
    (record,) = caplog.records
    assert "sendgrid failed permanently" in record.getMessage()
    assert "code 403" in record.getMessage()
    assert "smtp takes the message" in record.getMessage()
    assert "jane@example.com" not in caplog.text


def test_the_last_provider_failing_logs_nothing_more_and_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, backup, combined = pair()
    primary.fail_next(PermanentTransportError("down", provider="sendgrid"))
    backup.fail_next(PermanentTransportError("down too", provider="smtp"))
    with caplog.at_level("WARNING", logger="escalate"), pytest.raises(PermanentTransportError):
        combined.send(EMAIL)
    assert [r.getMessage().split()[1] for r in caplog.records] == ["sendgrid"]
