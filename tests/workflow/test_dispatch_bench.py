"""A short run of bench/dispatch_throughput.py: every queued send reaches the stub, once."""

from __future__ import annotations

import runpy
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "dispatch_throughput.py"


def test_every_queued_send_is_delivered_with_no_429() -> None:
    """The bench's outbox run sends all it queued through the HTTP stub, paced, with no 429."""
    bench = runpy.run_path(str(BENCH), run_name="dispatch_bench")
    figures = bench["run"](sends=40, concurrency=8, latency=0.01, pace=None)
    assert figures["sent"] == 40, figures
    assert figures["held"] == 0
    paced = bench["run"](sends=30, concurrency=8, latency=0.01, pace=20.0)
    assert paced["sent"] == 30, paced
    assert paced["rejected_429"] == 0
    assert paced["max_in_1s"] <= 20
