"""A PNG histogram of an SLA report's response times, drawn with matplotlib (``escalate[report]``).

matplotlib is an optional extra: the core never imports it, and a missing one
raises ``MissingDependencyError`` naming the ``pip install`` to run. The figure is
drawn on matplotlib's Agg canvas directly, not through ``pyplot``, so it touches
no global state and needs no display.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from escalate._exceptions import InvalidInput, MissingDependencyError
from escalate.reporting._metrics import DurationStats, SlaReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["write_histogram_png"]

#: Figure size in inches at ``DPI``: 1000 x 450 pixels.
SIZE = (10.0, 4.5)
DPI = 100


def write_histogram_png(report: SlaReport, path: str | os.PathLike[str]) -> Path:
    """Write a histogram of the report's response times (in minutes) to ``path`` as PNG.

    Two panels: time to first public response and time to private handoff. The
    file appears whole or not at all: a write that fails leaves ``path`` as it
    was.

    Raises:
        InvalidInput: ``report`` is not an ``SlaReport``, ``path`` not a path, or
            ``path`` cannot be written (a directory, a missing parent directory,
            no permission, a full disk); the ``OSError`` is its ``__cause__``.
        MissingDependencyError: matplotlib is not installed (``escalate[report]``).
    """
    if not isinstance(report, SlaReport):
        raise InvalidInput(f"report must be an SlaReport, not {type(report).__name__}")
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        raise InvalidInput(f"path must be a str or a path, not {type(path).__name__}")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ImportError:
        raise MissingDependencyError("matplotlib", "report") from None

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    _panel(left, report.first_public_response, "Time to first public response", "tab:blue")
    _panel(right, report.private_handoff, "Time to private handoff", "tab:green")
    figure.suptitle(_title(report))
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=DPI)
    target = Path(path)
    _write_whole(target, png.getvalue())
    return target


def _write_whole(target: Path, data: bytes) -> None:
    # A sibling file renamed over the target: a full disk or a crash mid-write
    # never leaves a truncated PNG (or a half-overwritten earlier one) behind.
    try:
        if target.is_dir():
            # Checked first: its sibling would be written next to the directory.
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        # os.open honours the umask, so the PNG gets a normal file's permissions.
        handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InvalidInput(f"cannot write {str(target)!r}: {reason}") from exc


def _panel(axes: Axes, stats: DurationStats, title: str, color: str) -> None:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - optional extra, checked above

    minutes = [seconds / 60 for seconds in stats.samples]
    axes.set_title(title)
    axes.set_xlabel("minutes")
    axes.set_ylabel("handoffs")
    if not minutes:
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        return
    # Durations start at zero; keep that edge visible. (A report never holds a
    # negative one, but hand-built stats may: numpy refuses a range that ends
    # below its start.)
    lower = min(0.0, min(minutes) * 1.05)
    upper = max(0.0, max(minutes) * 1.05)
    if upper <= lower:  # every duration is zero
        upper = lower + 1.0
    bins = min(20, max(5, len(minutes)))
    counts, _, _ = axes.hist(minutes, bins=bins, range=(lower, upper), color=color, ec="white")
    axes.set_ylim(0.0, float(max(counts)) * 1.25)  # headroom for the median label
    axes.set_xlim(left=lower)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    median = stats.median
    if median is not None:
        axes.axvline(median.total_seconds() / 60, color="black", linestyle="--", linewidth=1)
        axes.annotate(
            f"median {median.total_seconds() / 60:.1f} min (n={stats.count})",
            xy=(0.98, 0.95),
            xycoords="axes fraction",
            ha="right",
            va="top",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        )


def _title(report: SlaReport) -> str:
    # The moment judged, not "now": the PNG is read long after it was drawn.
    start = "start" if report.since is None else _when(report.since)
    window = f"{start} to {_when(report.until or report.as_of)}"
    count = f"{report.handoffs} handoff{'s' if report.handoffs != 1 else ''}"
    return f"escalate: {count} opened, tenant {report.tenant}, {window}"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
