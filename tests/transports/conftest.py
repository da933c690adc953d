"""Fixtures for the provider adapters: the fault-injecting stub and messages to send."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from escalate import Channel, Identity, OutboundMessage
from tests.transports.stub_server import StubServer

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM_NUMBER = "+14155550101"


@pytest.fixture(scope="module")
def stub_module() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def stub(stub_module: StubServer) -> StubServer:
    """The module's stub, with an empty log and no faults left over."""
    stub_module.clear()
    return stub_module


def sms(message_id: str = "ob_1", to: str = "+14155550100", **extra: object) -> OutboundMessage:
    return OutboundMessage(
        id=message_id,
        idempotency_key=f"key-{message_id}",
        channel=Channel.SMS,
        to=Identity.phone(to),
        body="Hi, this is Acme about case K7QP-3M. Reply STOP to opt out.",
        reference="K7QP-3M",
        handoff_id="ho_1",
        **extra,  # type: ignore[arg-type]
    )


def email(
    message_id: str = "ob_2", to: str = "jane@example.com", **extra: object
) -> OutboundMessage:
    return OutboundMessage(
        id=message_id,
        idempotency_key=f"key-{message_id}",
        channel=Channel.EMAIL,
        to=Identity.email(to),
        body="Hi Jane, about case K7QP-3M: we are on it.",
        reference="K7QP-3M",
        handoff_id="ho_1",
        **extra,  # type: ignore[arg-type]
    )
