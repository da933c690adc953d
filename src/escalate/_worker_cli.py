"""``escalate worker module:attr``: run an application's escalator's worker loop.

The escalator is the application's own (its transports, workflow and store come
from its configuration, not from flags), so the command imports it, as uvicorn
and celery do: ``attr`` names an ``Escalator``, or a callable that takes no
arguments and returns one. SIGINT and SIGTERM stop the loop after the cycle in
progress, so a deploy's restart never cuts a send between its claim and its
settlement; the escalator is then closed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from escalate._exceptions import InvalidInput

if TYPE_CHECKING:
    from escalate._escalator import Escalator
    from escalate.workflow._report import DispatchReport

__all__ = ["add_worker_arguments", "load_escalator", "run_worker_command"]


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``escalate worker``."""
    parser.add_argument(
        "app",
        metavar="MODULE:ATTR",
        help="your Escalator, or a function returning one (e.g. myapp.escalation:esc)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds to wait after a cycle with nothing to do (default: 1)",
    )
    parser.add_argument(
        "--limit", type=int, default=100, help="run_due(limit=...) per cycle (default: 100)"
    )
    parser.add_argument(
        "--once", action="store_true", help="run one cycle and exit (for cron and the like)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of escalate's own log lines (default: INFO; other libraries' stay at WARNING)",
    )


def load_escalator(spec: str) -> Escalator:
    """The ``Escalator`` that ``module:attr`` names (``attr`` may be dotted, or a factory).

    Raises:
        InvalidInput: the text is not ``module:attr``, the module or attribute is
            missing, or what it names is not (and does not return) an ``Escalator``.
    """
    from escalate._escalator import Escalator  # noqa: PLC0415 - keep --help fast

    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise InvalidInput(f"expected MODULE:ATTR, like myapp.escalation:esc, not {spec!r}")
    # As `python -m` would: the application's modules are where it is started.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # the module exists; something it imports does not
        raise InvalidInput(f"no module named {module_name!r}") from None
    for name in attr.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise InvalidInput(f"{module_name!r} has no attribute {attr!r}") from None
    if not isinstance(target, Escalator) and callable(target):
        target = target()
    if not isinstance(target, Escalator):
        raise InvalidInput(
            f"{spec!r} is a {type(target).__name__}, not an Escalator or a function returning one"
        )
    return target


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("escalate").info(
            "%s: stopping after this cycle", signal.Signals(signum).name
        )
        stop.set()

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker_command(args: argparse.Namespace) -> int:
    """Run ``escalate worker``; return the exit status (2 for bad input)."""
    # Other libraries' loggers stay at WARNING: an SDK's INFO lines describe its
    # HTTP requests, which are not ours to vouch for as free of personal data.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    log = logging.getLogger("escalate")
    log.setLevel(args.log_level)
    try:
        esc = load_escalator(args.app)
    except InvalidInput as exc:
        print(f"escalate worker: error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    try:
        if args.once:
            report = esc.run_due(limit=args.limit)
        else:
            log.info("running %r; Ctrl-C or SIGTERM stops it", esc)
            with _stop_on_signals(stop):
                report = esc.worker(interval=args.interval, limit=args.limit, stop=stop)
    except InvalidInput as exc:  # --interval or --limit out of range
        print(f"escalate worker: error: {exc}", file=sys.stderr)
        return 2
    finally:
        esc.close()
    log.info("stopped: %s", _summary(report))
    return 0


def _summary(report: DispatchReport) -> str:
    counts = [f"{name} {getattr(report, name)}" for name in report.__dataclass_fields__]
    return ", ".join(counts)
