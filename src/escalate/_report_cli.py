"""``escalate report``: the SLA figures of a store, as a table, JSON, and a PNG histogram."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from escalate._clock import SystemClock
from escalate._exceptions import EscalateError, InvalidInput, NaiveDatetimeError
from escalate._tenant import DEFAULT_TENANT

__all__ = ["add_report_arguments", "parse_when", "run_report"]


def parse_when(text: str) -> datetime:
    """An ISO 8601 time with a zone (``2026-03-10T09:00Z``), or a date, taken as UTC midnight.

    Raises:
        InvalidInput: not ISO 8601.
        NaiveDatetimeError: a time of day without a zone (which instant would it be?).
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"not an ISO 8601 time: {text!r}") from None
    if parsed.tzinfo is None:
        try:
            # Any ISO 8601 date (2026-03-10, 20260310, 2026-W11-2): a whole day, in
            # UTC. Its length alone told only the first form from a time of day.
            day = date.fromisoformat(text)
        except ValueError:
            raise NaiveDatetimeError(f"{text!r} (add a zone, e.g. Z or +01:00)") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parsed


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``escalate report``."""
    parser.add_argument(
        "--store",
        default="sqlite:///escalate.db",
        help="store URL (default: sqlite:///escalate.db); a SQLite file must exist",
    )
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant (default: default)")
    parser.add_argument(
        "--since", help="only handoffs opened at or after this ISO time (a date means UTC midnight)"
    )
    parser.add_argument("--until", help="only handoffs opened before this ISO time")
    parser.add_argument(
        "--png", type=Path, help="also write a histogram of response times to this PNG file"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run_report(args: argparse.Namespace) -> int:
    """Run ``escalate report``; return the exit status (2 for bad input, 1 for other errors)."""
    from rich.console import Console  # noqa: PLC0415 - keep --help fast

    from escalate.reporting import store_report, write_histogram_png  # noqa: PLC0415
    from escalate.reporting._table import report_figures, report_table  # noqa: PLC0415
    from escalate.store import open_store  # noqa: PLC0415

    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until) if args.until else None
        _require_existing_sqlite(args.store)
        store = open_store(args.store)
    except InvalidInput as exc:
        print(f"escalate report: error: {exc}", file=sys.stderr)
        return 2
    try:
        report = store_report(
            store, args.tenant, as_of=SystemClock().now(), since=since, until=until
        )
        if args.json:
            print(json.dumps(report_figures(report), indent=2))
        else:
            Console(emoji=False).print(report_table(report))
        if args.png is not None:
            try:
                written = write_histogram_png(report, args.png)
            except InvalidInput as exc:  # a missing directory, no permission, a full disk
                # The figures were printed; only the file failed, so not status 2.
                print(f"escalate report: error: {exc}", file=sys.stderr)
                return 1
            print(f"histogram written to {written}", file=sys.stderr if args.json else sys.stdout)
    except InvalidInput as exc:
        print(f"escalate report: error: {exc}", file=sys.stderr)
        return 2
    except EscalateError as exc:
        print(f"escalate report: error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


_IN_MEMORY = (
    "an in-memory store is empty in a new process, so its report would always be "
    "empty; pass the store your escalator writes to (sqlite:///path.db)"
)


def _require_existing_sqlite(url: str) -> None:
    # Opening a SQLite URL creates the file: a report on a mistyped path would
    # silently create an empty database and report zero handoffs. An in-memory
    # store starts empty in this process, so it would report zero handoffs too.
    if url.strip() in ("memory://", "memory:"):
        raise InvalidInput(f"--store {url.strip()!r}: {_IN_MEMORY}")
    if not url.startswith("sqlite://"):
        return
    path = url.removeprefix("sqlite://")
    path = path[1:] if path.startswith("/") else path
    if path == ":memory:":
        raise InvalidInput(f"--store {url!r}: {_IN_MEMORY}")
    if path and not Path(path).exists():
        raise InvalidInput(f"no database at {path!r}")
