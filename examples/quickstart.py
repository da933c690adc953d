"""Quickstart: escalate one public complaint to SMS, in memory, and print what was sent.

Run it with ``python examples/quickstart.py``. It uses the in-memory store and
transports, so it needs no account, network or database; swap in
``store="sqlite:///escalate.db"`` and ``TwilioSMS.from_env()`` for the real thing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Identity,
    InboundMessage,
    Thread,
    Workflow,
)
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher


def main() -> None:
    clock = FakeClock(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    sms = MemoryTransport([Channel.SMS])
    publisher = RecordingPublisher()
    esc = Escalator(
        "memory://",
        transports=[sms],
        publisher=publisher,
        clock=clock,
        workflow=Workflow.default(brand="Acme", contact_url="https://acme.example/help"),
    )

    # 1. A customer complains publicly; we acknowledge publicly with a reference code.
    thread = Thread(
        platform="x",
        thread_id="1897001122334455",
        author=Identity.social("x", "2244994945", handle="jane_d"),
        text="@acme my order never arrived",
        posted_at=clock.now(),
    )
    handoff = esc.open(thread)
    print("public reply:", publisher.replies[0].text)

    # 2. They give a number on the consent page, which signed them in with X (its
    #    link was public: only the thread's author may give the case a number);
    #    the first private SMS goes out.
    clock.advance(minutes=4)
    phone = Identity.phone("(415) 555-0142", region="US")
    consent = ConsentEvidence(
        source=ConsentSource.WEB_FORM,
        text="Text me about my case. Reply STOP to opt out.",
        ip="203.0.113.7",
    )
    signed_in = Identity.social("x", "2244994945")
    handoff = esc.contact_provided(handoff.id, phone, consent=consent, author=signed_in)
    print("sms:", sms.sent[0].body)

    # 3. They reply; an agent resolves the case.
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=phone, body="thanks!", received_at=clock.now())
    )
    handoff = esc.resolve(handoff.id)
    print("state:", handoff.state.value, "reference:", handoff.reference)


if __name__ == "__main__":
    main()
