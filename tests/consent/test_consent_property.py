"""Property: over any interleaving of grants, keywords, sends and clock moves, consent holds.

Driven through the real Escalator (MemoryStore, a recording MemoryTransport,
FakeClock). The oracle is written independently of the library's decision code:
it replays the ledger as it stood at each send, in write order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Escalator,
    Identity,
    InboundMessage,
    OutboundMessage,
    SendResult,
    Thread,
    Workflow,
)
from escalate.store import MemoryStore
from escalate.testing import FakeClock, MemoryTransport

PHONE = Identity.phone("+14155550100")  # America/Los_Angeles
LA = ZoneInfo("America/Los_Angeles")
WINDOW = timedelta(minutes=5)
BODIES = ["STOP", "stop please", "please stop texting me", "START", "YES", "HELP", "INFO",
          "thanks, order 1234", "unsubscribe", "yes", "Yes please", "S\u03a4OP"]  # fmt: skip


@dataclass
class Sent:
    message: OutboundMessage
    at: datetime
    ledger: list[ConsentRecord]


class RecordingTransport(MemoryTransport):
    """Keeps, for every send, the time and the ledger as it stood at that moment."""

    def __init__(self, store: MemoryStore, clock: FakeClock) -> None:
        super().__init__(name="recording")
        self.store = store
        self.clock = clock
        self.log: list[Sent] = []

    def send(self, message: OutboundMessage) -> SendResult:
        ledger = self.store.consent_records(message.tenant, message.to)
        self.log.append(Sent(message, self.clock.now(), ledger))
        return super().send(message)


action = st.one_of(
    st.tuples(st.just("open"), st.booleans()),
    st.tuples(st.just("inbound"), st.sampled_from(BODIES)),
    st.tuples(st.just("advance"), st.sampled_from([1, 3, 4, 6, 30, 120, 600, 1440])),
    st.tuples(st.just("run_due"), st.just(None)),
)


def stands(ledger: list[ConsentRecord]) -> tuple[str, ConsentRecord | None]:
    """The oracle: the address's transactional standing, replaying records in write order."""
    state, last = "none", None
    for record in sorted(ledger, key=lambda r: r.seq or 0):
        if record.purpose.value != "transactional" and not record.all_purposes:
            continue
        if record.action.value == "grant":
            if record.awaiting_confirmation:
                state = "pending"
            elif record.handoff_id or record.evidence.thread_id:
                state = "granted"
            elif state != "granted":
                state = "untied"
        else:
            state = "stopped"
        last = record
    return state, last


@settings(max_examples=150)
@given(
    start_hour=st.integers(min_value=0, max_value=23),
    double_opt_in=st.booleans(),
    immediately=st.booleans(),
    actions=st.lists(action, max_size=25),
)
def test_no_text_ever_breaks_consent(
    start_hour: int, double_opt_in: bool, immediately: bool, actions: list[tuple[str, object]]
) -> None:
    """Never after a revoke without a later grant, never without consent, never in quiet hours."""
    store = MemoryStore()
    clock = FakeClock(datetime(2026, 1, 5, start_hour, 7, tzinfo=UTC))
    transport = RecordingTransport(store, clock)
    esc = Escalator(
        store,
        transports=[transport],
        clock=clock,
        dispatch_immediately=immediately,
        workflow=Workflow.default(brand="Acme", double_opt_in=double_opt_in),
    )
    inbound_at: list[datetime] = []
    threads = 0
    for kind, arg in actions:
        if kind == "open":
            threads += 1
            thread = Thread(
                platform="x",
                thread_id=str(1000 + threads),
                author=Identity.social("x", "42", "jane"),
                text="help",
                posted_at=clock.now(),
            )
            handoff = esc.open(thread)
            consent = (
                ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me") if arg else None
            )
            esc.contact_provided(handoff.id, PHONE, consent=consent)
        elif kind == "inbound":
            inbound_at.append(clock.now())
            esc.inbound(
                InboundMessage(
                    channel=Channel.SMS, sender=PHONE, body=str(arg), received_at=clock.now()
                )
            )
        elif kind == "advance":
            clock.advance(minutes=int(arg))  # type: ignore[call-overload]
        else:
            esc.run_due()
    esc.run_due()

    rows = {item.id: item for item in store.outbox(esc.tenant)}
    templates = {row_id: getattr(row.command, "template", None) for row_id, row in rows.items()}
    opt_in_requests: set[str | None] = set()
    confirmed_revokes: set[str] = set()
    for sent in transport.log:
        template = templates[sent.message.id]
        state, last = stands(sent.ledger)
        if template == "consent.opt_out_confirmation":
            assert state == "stopped"
            assert last is not None
            assert last.action.value == "revoke"
            assert sent.at - last.at <= WINDOW, "confirmation later than 5 minutes"
            assert last.id not in confirmed_revokes, "two confirmations for one revocation"
            confirmed_revokes.add(last.id)
            continue
        assert state != "stopped", f"{template} sent after a revoke without a later grant"
        if template in ("consent.help", "consent.opt_in_confirmation"):
            # An answer to the customer's own text: within 5 minutes of one.
            assert any(timedelta(0) <= sent.at - t <= WINDOW for t in inbound_at)
            continue
        if getattr(rows[sent.message.id].command, "opt_in_request", False):
            # Rule 8: the double opt-in request is the one text allowed before a
            # grant (never after a revoke, checked above), once per handoff.
            handoff_id = rows[sent.message.id].handoff_id
            assert handoff_id not in opt_in_requests, "two opt-in requests in one handoff"
            opt_in_requests.add(handoff_id)
        else:
            assert state == "granted", f"{template} sent without consent ({state})"
        local = sent.at.astimezone(LA).time()
        assert 8 <= local.hour < 21, f"{template} sent in quiet hours at {local}"
