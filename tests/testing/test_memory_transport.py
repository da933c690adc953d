"""``MemoryTransport``: an outbox of accepted messages, and failures scripted in order."""

from __future__ import annotations

import pytest

from escalate import Channel, Identity, PermanentTransportError, RetryableTransportError
from escalate._messages import OutboundMessage
from escalate.testing import MemoryTransport


def message(n: int, to: str = "+14155550100") -> OutboundMessage:
    return OutboundMessage(
        id=f"ob_{n}",
        idempotency_key=f"k{n}",
        channel=Channel.SMS,
        to=Identity.phone(to),
        body=f"message {n}",
    )


def test_the_outbox_holds_accepted_messages_in_order() -> None:
    transport = MemoryTransport([Channel.SMS], name="sms")
    results = [transport.send(message(n)) for n in range(3)]
    assert transport.outbox is transport.sent
    assert [m.id for m in transport.outbox] == ["ob_0", "ob_1", "ob_2"]
    assert [r.provider for r in results] == ["sms"] * 3
    assert len({r.provider_message_id for r in results}) == 3


def test_scripted_failures_are_raised_in_order_and_nothing_is_recorded_as_sent() -> None:
    transport = MemoryTransport()
    transport.fail_next(RetryableTransportError("busy", provider="memory"))
    transport.fail_next(PermanentTransportError("suspended", provider="memory"))
    with pytest.raises(RetryableTransportError):
        transport.send(message(1))
    with pytest.raises(PermanentTransportError):
        transport.send(message(2))
    transport.send(message(3))
    assert [m.id for m in transport.outbox] == ["ob_3"]
    assert [m.id for m in transport.attempts] == ["ob_1", "ob_2", "ob_3"]


def test_sent_to_and_clear() -> None:
    transport = MemoryTransport()
    transport.send(message(1, "+14155550100"))
    transport.send(message(2, "+14155550111"))
    assert [m.id for m in transport.sent_to("+14155550111")] == ["ob_2"]
    transport.clear()
    assert transport.outbox == []
    assert transport.attempts == []


def test_numbered_orders_sends_across_transports() -> None:
    """Send numbers grow across transports; clear() and hand edits keep numbered() sound."""
    a, b = MemoryTransport(name="a"), MemoryTransport(name="b")
    a.send(message(0))
    b.send(message(1))
    a.send(message(2))
    merged = sorted([*a.numbered(), *b.numbered()], key=lambda pair: pair[0])
    assert [m.id for _, m in merged] == ["ob_0", "ob_1", "ob_2"]
    a.clear()
    assert a.numbered() == []
    b.sent.append(message(3))  # put there by hand: numbered when first seen, after the rest
    assert [m.id for _, m in b.numbered()] == ["ob_1", "ob_3"]
    a.send(message(4))
    by_number = sorted([*a.numbered(), *b.numbered()], key=lambda pair: pair[0])
    assert [m.id for _, m in by_number] == ["ob_1", "ob_3", "ob_4"]
    assert b.numbered() == b.numbered()  # stable once given
