"""The SLA report as a rich table, and as plain figures for ``--json``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.table import Table

from escalate.reporting._metrics import DurationStats, SlaReport

__all__ = ["format_duration", "report_figures", "report_table"]


def format_duration(value: timedelta | None) -> str:
    """A short human duration: ``45s``, ``4m 12s``, ``2h 05m``, ``3d 4h``; ``-`` for none."""
    if value is None:
        return "-"
    seconds = round(value.total_seconds())
    if seconds < 0:
        # divmod floors: -125 s would read "-3m 55s".
        return "-" + format_duration(timedelta(seconds=-seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _share(part: int, whole: int, what: str) -> str:
    if not whole:
        return "-"
    percent = f"{100 * part / whole:.1f}%"
    # 1 abandoned of 20,000 is not "0.0%", 19,999 resolved of 20,000 not "100.0%":
    # only an exact none or all reads as one.
    if part and percent == "0.0%":
        percent = "<0.1%"
    elif part != whole and percent == "100.0%":
        percent = ">99.9%"
    return f"{percent}\n{part} of {whole} {what}"


def _durations(stats: DurationStats) -> tuple[str, str]:
    summary = (
        f"median {format_duration(stats.median)}\n"
        f"p90 {format_duration(stats.p90)}\n"
        f"max {format_duration(stats.max)}"
    )
    detail = f"n={stats.count}" + (f", {stats.missing} without" if stats.missing else "")
    return (summary if stats.count else "-", detail)


def report_table(report: SlaReport) -> Table:
    """The report's figures as a two-column rich table."""
    since = _when(report.since) if report.since else "the start"
    until = _when(report.until or report.as_of)
    table = Table(
        title=f"SLA report, tenant {report.tenant!r}",
        caption=f"handoffs opened from {since} to {until}",
    )
    table.add_column("metric", no_wrap=True)
    table.add_column("value", no_wrap=True)
    table.add_column("detail", style="dim")
    table.add_row("handoffs opened", str(report.handoffs), "")
    table.add_row("time to first public response", *_durations(report.first_public_response))
    table.add_row("time to private handoff", *_durations(report.private_handoff))
    table.add_row(
        "resolved within 24 h",
        _share(report.resolved_in_time, report.resolution_judged, "judged"),
        f"{report.handoffs - report.resolution_judged} still inside 24 h",
    )
    table.add_row(
        "abandonment rate",
        _share(report.abandoned, report.closed, "closed"),
        f"{report.handoffs - report.closed} still open",
    )
    return table


def report_figures(report: SlaReport) -> dict[str, object]:
    """The report as plain JSON-ready figures (durations in seconds)."""

    def durations(stats: DurationStats) -> dict[str, object]:
        def secs(value: timedelta | None) -> float | None:
            return None if value is None else value.total_seconds()

        return {
            "count": stats.count,
            "missing": stats.missing,
            "median_seconds": secs(stats.median),
            "p90_seconds": secs(stats.p90),
            "mean_seconds": secs(stats.mean),
            "max_seconds": secs(stats.max),
        }

    return {
        "tenant": report.tenant,
        "since": report.since.isoformat() if report.since else None,
        "until": report.until.isoformat() if report.until else None,
        "as_of": report.as_of.isoformat(),
        "handoffs": report.handoffs,
        "first_public_response": durations(report.first_public_response),
        "private_handoff": durations(report.private_handoff),
        "resolved_within_24h": report.resolved_within_24h,
        "resolved_in_time": report.resolved_in_time,
        "resolution_judged": report.resolution_judged,
        "abandonment_rate": report.abandonment_rate,
        "abandoned": report.abandoned,
        "closed": report.closed,
    }
