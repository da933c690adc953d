"""Erasure while a worker is sending one of the person's messages.

The stores leave a row a worker holds (its settlement must find it), and nothing
deleted it after: erase() returned as done while the message's body and number
stayed in the store for good. Runs once per store kind (the ``esc`` fixture).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from escalate import ConcurrentUpdate, Escalator, Identity, OutboundMessage, SendResult, Workflow
from escalate.store import SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.consent.test_erasure_sweep import _store_texts

PHONE = Identity.phone("+14155550142")
BODY = "your refund for order ZX99187 is on its way"


class _ErasingMidSend(MemoryTransport):
    """Another process erases the person while this send is on its way."""

    erase: Callable[[], object] | None = None
    outcome: object = None

    def send(self, message: OutboundMessage) -> SendResult:
        if self.erase is not None and BODY in message.body:
            erase, self.erase = self.erase, None
            try:
                self.outcome = erase()
            except ConcurrentUpdate as exc:
                self.outcome = exc
        return super().send(message)


def _left(store: Store, db: Path) -> list[str]:
    texts = [text for _, text in _store_texts(store, db)]
    if isinstance(store, SQLiteStore):
        texts += [p.read_bytes().decode("latin-1") for p in db.parent.glob(db.name + "*")]
    return sorted({n for n in ("ZX99187", "4155550142") for text in texts if n in text})


def test_an_erasure_during_a_send_says_so_and_a_second_one_finishes(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    sms = _ErasingMidSend()
    esc = Escalator(store, transports=[sms], clock=clock, workflow=Workflow.default(brand="Acme"))
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.run_due()
    contact_id = handoff.contact_id
    assert contact_id is not None
    sms.erase = lambda: esc.consent.erase(contact_id)
    esc.send_message(handoff.id, BODY)
    assert isinstance(sms.outcome, ConcurrentUpdate), sms.outcome  # not reported as done
    assert "again" in str(sms.outcome)
    assert esc.contacts.get(contact_id).links  # type: ignore[union-attr]
    esc.consent.erase(contact_id)
    assert _left(store, tmp_path / "escalate.db") == []
    assert esc.verify_log().ok
