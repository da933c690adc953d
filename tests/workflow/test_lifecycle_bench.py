"""A short run of bench/handoff_lifecycle.py: the baseline replays exactly the library's writes."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "handoff_lifecycle.py"


def test_baseline_writes_the_same_rows_and_commits(tmp_path: Path) -> None:
    """Over a few lifecycles the baseline makes as many write commits and row changes."""
    bench = runpy.run_path(str(BENCH))
    shape = bench["compare"](tmp_path, 5)
    assert shape["library_commits"] == 5 * shape["write_commits_per_handoff"], shape
    assert shape["baseline_commits"] == shape["library_commits"], shape
    assert shape["library_changes"] > 0
    assert shape["baseline_changes"] == shape["library_changes"], shape
    # Every write transaction of a lifecycle is replayed, and no transaction is left empty.
    assert shape["statements_per_handoff"] >= shape["write_commits_per_handoff"] > 0


def test_bench_runs_and_reports_a_ratio(tmp_path: Path) -> None:
    """A tiny interleaved run reports positive rates for both sides and their ratio."""
    bench = runpy.run_path(str(BENCH))
    figures = bench["bench"](10, 2)
    assert figures["library_handoffs_per_s"] > 0
    assert figures["raw_handoffs_per_s"] > 0
    assert figures["ratio"] == figures["raw_handoffs_per_s"] / figures["library_handoffs_per_s"]


COUNTER = BENCH.with_name("lifecycle_instructions.py")


def test_the_counted_sides_differ_by_their_lifecycles_alone() -> None:
    """What callgrind counts (here without valgrind): both runs of a side prepare the
    same; only the full one runs the lifecycles, and both sides change the same rows."""
    counter = runpy.run_path(str(COUNTER))
    changes = {which: counter["side"](which, 3) for which in ("library", "raw")}
    assert changes["library"] == changes["raw"] > 0
    for which in ("library", "raw"):
        assert counter["side"](which, 3, run=False) == 0


def test_the_counter_reports_per_lifecycle_differences(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preparation cancels out: (full run - prepare-only run) / count, per side, and the ratio."""
    counter = runpy.run_path(str(COUNTER))
    fake = {
        ("library", False): 1_000,
        ("library", True): 81_000,
        ("raw", False): 500,
        ("raw", True): 10_500,
    }
    main = counter["main"]

    def instructions(which: str, count: int, *, run: bool) -> int:
        assert count == 10
        return fake[(which, run)]

    monkeypatch.setitem(main.__globals__, "instructions", instructions)
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/valgrind")
    lines: list[str] = []
    monkeypatch.setitem(main.__globals__, "print", lines.append)
    main(["--count", "10"])
    assert "library_instructions_per_lifecycle: 8,000" in lines
    assert "raw_instructions_per_lifecycle: 1,000" in lines
    assert "ratio: 8.00" in lines


SPLIT = BENCH.with_name("lifecycle_split.py")


def test_the_split_accounts_for_every_call_of_both_sides() -> None:
    """Both sides make the same BEGIN, COMMIT and write calls; only the library reads."""
    split = runpy.run_path(str(SPLIT))
    library = split["library_split"](":memory:", 5)
    raw = split["raw_split"](":memory:", 5)
    for kind in ("BEGIN", "COMMIT", "write"):
        assert library[kind][0] == raw[kind][0] > 0
    assert raw["read in autocommit"][0] == raw["read in transaction"][0] == 0
    assert library["read in autocommit"][0] > 0
    timed = sum(library[kind][1] for kind in split["KINDS"])
    assert (
        abs(timed + library["python"][1] - library["total"][1]) < 1e-6 * library["total"][1] + 1e-9
    )
    assert any(line.startswith("  python") for line in split["report"]("library, memory", library))
