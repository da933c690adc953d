"""The Twilio adapter under the outbox engine: retried per policy, held when unsure, never twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tenacity import stop_after_attempt, wait_fixed

from escalate import Escalator, Identity, RetryPolicy, Workflow
from escalate.store import Store
from escalate.testing import FakeClock
from escalate.transports.twilio import STATUS_CALLBACK_PARAM, TwilioSMS
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.transports.conftest import ACCOUNT_SID, FROM_NUMBER
from tests.transports.stub_server import Fault, StubServer, twilio_error

PHONE = Identity.phone("+14155550100")


@pytest.fixture
def twilio(stub: StubServer) -> Iterator[TwilioSMS]:
    transport = TwilioSMS(
        ACCOUNT_SID,
        "token",
        from_=FROM_NUMBER,
        status_callback="https://hooks.example/twilio/status",
        base_url=stub.url,
        timeout=0.4,
    )
    yield transport
    transport.close()


@pytest.fixture
def esc(store: Store, clock: FakeClock, twilio: TwilioSMS) -> Escalator:
    return Escalator(
        store,
        transports=[twilio],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        retry=RetryPolicy(stop=stop_after_attempt(3), wait=wait_fixed(2)),
    )


def _connect(esc: Escalator, clock: FakeClock) -> str:
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    return handoff.id


def _kinds(esc: Escalator, handoff_id: str) -> list[str]:
    return [event.kind for event in esc.history(handoff_id) if event.kind.startswith("message.")]


def _accepted_ids(stub: StubServer) -> list[str]:
    """Our message ids in the StatusCallback of every request the stub received."""
    return [
        r.form["StatusCallback"].rsplit(f"{STATUS_CALLBACK_PARAM}=", 1)[1] for r in stub.received
    ]


def test_429_is_retried_after_retry_after_then_sent_once(
    esc: Escalator, clock: FakeClock, stub: StubServer
) -> None:
    """A 429 reschedules the row no sooner than Retry-After; the next run sends it once."""
    stub.script(twilio_error(20429, 429, Retry_After="30"))
    handoff_id = _connect(esc, clock)
    assert _kinds(esc, handoff_id) == ["message.retry_scheduled"]
    clock.advance(seconds=29)
    assert esc.run_due().sent == 0  # Retry-After is a floor on the policy's 2 s wait
    clock.advance(seconds=1)
    assert esc.run_due().sent == 1
    assert _kinds(esc, handoff_id) == ["message.retry_scheduled", "message.sent"]
    assert len(stub.received) == 2  # the refused attempt and the accepted one


def test_503_retries_until_the_policy_stops(
    esc: Escalator, clock: FakeClock, stub: StubServer
) -> None:
    """Retryable failures are retried up to the policy's attempts, then the send fails."""
    stub.script(*[twilio_error(20503, 503)] * 3)
    handoff_id = _connect(esc, clock)
    for _ in range(3):
        clock.advance(seconds=2)
        esc.run_due()
    assert _kinds(esc, handoff_id) == [
        "message.retry_scheduled",
        "message.retry_scheduled",
        "message.failed",
    ]
    assert len(stub.received) == 3


@pytest.mark.parametrize("code", [21211, 21614, 21610])
def test_permanent_refusal_is_not_retried(
    esc: Escalator, clock: FakeClock, stub: StubServer, code: int
) -> None:
    """Invalid, landline and opted-out recipients fail at once and are never resent."""
    stub.script(twilio_error(code))
    handoff_id = _connect(esc, clock)
    clock.advance(hours=1)
    esc.run_due()
    failed = [e for e in esc.history(handoff_id) if e.kind == "message.failed"]
    assert [e.data["code"] for e in failed] == [str(code)]
    assert len(stub.received) == 1


@pytest.mark.parametrize("fault", [Fault(hang=True), Fault(drop=True)], ids=["timeout", "drop"])
def test_unknown_outcome_is_held_and_never_resent(
    esc: Escalator, clock: FakeClock, stub: StubServer, fault: Fault
) -> None:
    """A send whose answer was lost is held; later runs do not send it again."""
    stub.script(fault)
    handoff_id = _connect(esc, clock)
    for _ in range(3):
        clock.advance(minutes=10)
        esc.run_due()
    assert _kinds(esc, handoff_id) == ["message.held"]
    ids = _accepted_ids(stub)
    assert len(ids) == 1
    assert len(set(ids)) == len(ids)  # the stub's own log: zero duplicates
