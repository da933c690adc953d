"""Short version of bench/consent.py: a send's decision stays close to a bare ledger read."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "consent.py"


def load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_consent", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_decision_costs_at_most_a_few_ledger_reads() -> None:
    """With 20 records on SQLite the full decision (rules, zone, quiet hours) is < 4x a read."""
    raw, full = load_bench().bench_decision(20)
    assert full < 4 * raw, (raw, full)


def test_classifier_is_fast_enough_for_webhooks() -> None:
    """Classifying a reply takes well under a millisecond."""
    _, full = load_bench().bench_classifier()
    assert full < 0.001, full
