"""The identity benchmark runs at a tiny size and checks what it measures."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "identity_resolve.py"


def test_tiny_identity_bench_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """bench/identity_resolve.py resolves correctly and reports figures on both stores."""
    main = runpy.run_path(str(BENCH))["main"]
    results = main(
        ["--identities", "3000", "--contacts", "1200", "--samples", "500", "--merges", "8"]
    )
    assert set(results) == {"memory", "sqlite"}
    for figures in results.values():
        assert 0 < figures["resolve_p50_us"] <= figures["resolve_p99_us"]
        assert 0 < figures["merge_p50_us"] <= figures["merge_p99_us"]
    out = capsys.readouterr().out
    assert "SEARCH i USING PRIMARY KEY" in out  # resolve is one indexed lookup
