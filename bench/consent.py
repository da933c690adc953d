"""Consent costs, as ratios against raw baselines run side by side in one process.

1. classify_reply on a table of real-looking replies vs the skeleton's bare
   keyword-set lookup (``body.strip().upper().rstrip(".!") in KEYWORDS``).
2. The full decision before a send (ledger + erased proofs + contact zone + rules
   + quiet hours) on SQLite vs the bare ledger query it replaced.

Run: .venv/bin/python bench/consent.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from escalate import Channel, ConsentEvidence, ConsentSource, Identity
from escalate.consent import ConsentAction, ConsentPolicy, Purpose, classify_reply
from escalate.consent._making import make_consent_record
from escalate.store import Changes, OutboxItem, SQLiteStore
from escalate.testing import FakeClock
from escalate.workflow import SendMessage, Workflow
from escalate.workflow._engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.consent.test_keywords import NOT_REVOKING, REVOKING

KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)


def timed_pair(raw, full, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best per-call time of each, measured in alternating rounds so load hits both alike."""
    best = [float("inf"), float("inf")]
    for _ in range(9):
        for index, fn in enumerate((raw, full)):
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[index] = min(best[index], (time.perf_counter() - start) / repeat)
    return best[0], best[1]


def bench_classifier() -> tuple[float, float]:
    messages = REVOKING + NOT_REVOKING

    def raw() -> None:
        for body in messages:
            _ = body.strip().upper().rstrip(".!") in KEYWORDS

    def full() -> None:
        for body in messages:
            classify_reply(body)

    raw_time, full_time = timed_pair(raw, full, 100)
    return raw_time / len(messages), full_time / len(messages)


def bench_decision(records: int) -> tuple[float, float]:
    phone = Identity.phone("+14155550100")
    clock = FakeClock(datetime(2026, 1, 5, 18, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, thread_id="t1", text="ok")
        ledger = [
            make_consent_record(
                tenant="default", address=phone, purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT if i % 2 == 0 else ConsentAction.REVOKE,
                evidence=evidence, at=clock.now() - timedelta(minutes=records - i),
                all_purposes=i % 2 == 1,
            )
            for i in range(records)
        ]  # fmt: skip
        store.commit(Changes(consent=ledger))
        engine = Engine(store=store, workflow=Workflow.default(), clock=clock, tenant="default",
                        consent=ConsentPolicy())  # fmt: skip
        now = clock.now()
        command = SendMessage(channel=Channel.SMS, to=phone, body="hi")
        item = OutboxItem(id="ob_1", handoff_id=None, idempotency_key="k", command=command,
                          due_at=now, created_at=now)  # fmt: skip
        raw, full = timed_pair(
            lambda: store.consent_records("default", phone),
            lambda: engine.consent_decision(item, command, now),
            max(20, 2000 // records),
        )
        store.close()
    return raw, full


def main() -> None:
    raw, full = bench_classifier()
    print(f"classify_reply: {full * 1e6:.1f} us/message vs raw keyword lookup "
          f"{raw * 1e6:.2f} us (ratio {full / raw:.0f}x)")  # fmt: skip
    for records in (2, 20, 200):
        raw, full = bench_decision(records)
        print(f"decision before a send, {records} records, SQLite: {full * 1e6:.0f} us vs bare "
              f"ledger query {raw * 1e6:.0f} us (ratio {full / raw:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
