"""Edges of the pure report: a past ``as_of``, skewed clocks, bad tenants, and how it prints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from escalate import InvalidInput
from escalate.cli import main
from escalate.reporting import (
    DurationStats,
    format_duration,
    report_table,
    sla_report,
    store_report,
    write_histogram_png,
)
from escalate.reporting._histogram import _title
from escalate.reporting._table import report_figures
from escalate.store import MemoryStore, open_store
from tests.reporting.test_metrics import T0, H, M, event, make_handoff, to


def test_a_handoff_opened_after_as_of_is_not_in_the_report() -> None:
    """A report as of a past moment holds what existed then, not later cases counted as missing."""
    then = make_handoff("then", T0)
    later = make_handoff("later", T0 + 10 * H)
    events = [
        event(then, "public_reply.posted", T0 + M),
        event(later, "public_reply.posted", T0 + 10 * H + M),
    ]
    report = sla_report([then, later], events, as_of=T0 + H, since=T0 - H)
    assert report.handoffs == 1
    assert report.first_public_response.samples == (60.0,)
    assert report.first_public_response.missing == 0
    assert report.private_handoff.missing == 1
    assert report.handoffs - report.resolution_judged == 1  # 'still inside 24 h'


def test_durations_are_never_negative_when_clocks_disagree() -> None:
    """A worker whose clock ran behind logged the reply and the text before the opening."""
    handoff = make_handoff("a", T0)
    events = [
        event(handoff, "public_reply.posted", T0 - 2 * M),
        event(handoff, "message.sent", T0 - M),
        to(handoff, "resolved", T0 + 5 * M),
    ]
    report = sla_report([handoff], events, as_of=T0 + H)
    assert report.first_public_response.samples == (0.0,)
    assert report.private_handoff.samples == (0.0,)
    assert report.resolved_within_24h == 1.0


def test_the_histogram_draws_negative_durations_it_is_given(tmp_path: Path) -> None:
    """Durations built by hand below zero are drawn, not a ValueError from numpy."""
    report = sla_report([], [], as_of=T0)
    skewed = report.model_copy(
        update={"first_public_response": DurationStats(samples=(-120.0, -60.0), missing=0)}
    )
    assert write_histogram_png(skewed, tmp_path / "skewed.png").stat().st_size > 0


def test_format_duration_keeps_the_sign() -> None:
    """Minus 2 minutes 5 seconds is not '-3m 55s' (divmod floors towards minus infinity)."""
    assert format_duration(timedelta(seconds=-125)) == "-2m 05s"
    assert format_duration(timedelta(seconds=-5)) == "-5s"
    assert format_duration(timedelta(hours=-26)) == "-1d 2h"


@pytest.mark.parametrize("tenant", ["", 5, None])
def test_store_report_refuses_a_tenant_that_is_not_a_name(tenant: object) -> None:
    """'' was reported as tenant 'default'; 5 raised pydantic's ValidationError."""
    with pytest.raises(InvalidInput, match="tenant"):
        store_report(MemoryStore(), tenant, as_of=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize("tenant", ["", 5])
def test_sla_report_refuses_a_tenant_that_is_not_a_name(tenant: object) -> None:
    with pytest.raises(InvalidInput, match="tenant"):
        sla_report([make_handoff("a", T0)], [], as_of=T0, tenant=tenant)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(19_999, 20_000, ">99.9%"), (1, 20_000, "<0.1%"), (20_000, 20_000, "100.0%"), (0, 5, "0.0%")],
)
def test_a_share_never_rounds_to_all_or_nothing(part: int, whole: int, shown: str) -> None:
    """1 abandoned of 20,000 is not '0.0%', 19,999 resolved of 20,000 not '100.0%'."""
    report = sla_report([], [], as_of=T0).model_copy(
        update={"handoffs": whole, "abandoned": part, "closed": whole}
    )
    row = next(r for r in _rows(report) if r[0] == "abandonment rate")
    assert row[1].splitlines()[0] == shown


def _rows(report: object) -> list[list[str]]:
    table = report_table(report)  # type: ignore[arg-type]
    cells = [[str(cell) for cell in column.cells] for column in table.columns]
    return [list(row) for row in zip(*cells, strict=True)]


def test_the_png_title_names_the_moment_judged(tmp_path: Path) -> None:
    """An open-ended report's PNG said 'to now': read next week, that names no moment."""
    report = sla_report([], [], as_of=T0)
    assert _title(report) == (
        "escalate: 0 handoffs opened, tenant default, start to 2026-03-02 09:00 UTC"
    )
    bounded = sla_report([], [], as_of=T0 + H, since=T0 - 24 * H, until=T0)
    assert _title(bounded).endswith("2026-03-01 09:00 UTC to 2026-03-02 09:00 UTC")


def test_the_json_figures_hold_no_personal_data() -> None:
    """The JSON names the tenant and counts; no address, handle, thread id or reference."""
    handoff = make_handoff("ho_7f3a9c", T0)
    report = sla_report([handoff], [event(handoff, "public_reply.posted", T0 + M)], as_of=T0 + H)
    text = repr(report_figures(report)) + repr(report)
    for personal in ("42", handoff.reference, handoff.thread.text, handoff.id):
        assert personal not in text


def test_report_with_an_empty_tenant_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--tenant '' printed a report headed tenant 'default' that read no tenant at all."""
    db = tmp_path / "empty.db"
    open_store(f"sqlite:///{db}").close()
    assert main(["report", "--store", f"sqlite:///{db}", "--tenant", ""]) == 2
    assert "tenant must be a non-empty string" in capsys.readouterr().err
