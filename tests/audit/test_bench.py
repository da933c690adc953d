"""A short run of bench/audit_chain.py: the chain's cost stays a bounded multiple of raw writes."""

from __future__ import annotations

import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "audit_chain.py"


def test_chain_commit_cost_is_bounded() -> None:
    """Chained commits stay within 4x raw sqlite3 and 3x the unchained store (full run: ~2x)."""
    bench = runpy.run_path(str(BENCH))
    figures = bench["measure"](600, rounds=3)
    assert figures["events"] == 1800
    assert figures["commit_ratio"] < 4.0, figures
    assert figures["chain_overhead_ratio"] < 3.0, figures
    lifecycle = bench["measure_lifecycle"](30, rounds=3)
    assert lifecycle["events_per_handoff"] > 5
    assert lifecycle["lifecycle_chain_overhead_ratio"] < 2.0, lifecycle
