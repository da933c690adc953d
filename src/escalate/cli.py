"""The ``escalate`` command: ``demo``, ``report``, ``worker``, ``--version`` and ``--help``.

Subcommands import what they need when they run, so ``escalate --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from escalate._exceptions import InvalidInput
from escalate._report_cli import add_report_arguments
from escalate._version import __version__
from escalate._worker_cli import add_worker_arguments, run_worker_command

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from rich.console import Console  # noqa: PLC0415 - keep --help fast

    from escalate._demo import run_demo  # noqa: PLC0415

    try:
        # emoji=False: "x:2244..." must not become an emoji shortcode.
        result = run_demo(Console(emoji=False), database=args.db)
    except InvalidInput as exc:  # a --db path that cannot be opened
        print(f"escalate demo: error: {exc}", file=sys.stderr)
        return 2
    return 0 if result.handoff.state.value == "resolved" else 1


def _report(args: argparse.Namespace) -> int:
    from escalate._report_cli import run_report  # noqa: PLC0415

    return run_report(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="escalate",
        description=(
            "Move a public social-media complaint into a private, consented SMS or email "
            "conversation, and keep it there until it is resolved."
        ),
    )
    parser.add_argument("--version", action="version", version=f"escalate {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run one scripted handoff on SQLite and print its timeline",
        description="Run a whole scripted handoff (public post to resolved) with console "
        "transports on a SQLite file in a temporary directory, and print its timeline.",
    )
    demo.add_argument(
        "--db", type=Path, default=None, help="SQLite file to use instead of a temporary one"
    )
    demo.set_defaults(handler=_demo)

    report = commands.add_parser(
        "report",
        help="print SLA figures from the audit log (optionally a PNG histogram)",
        description="Print time to first public response, time to private handoff, the share "
        "resolved within 24 h and the abandonment rate of the handoffs opened in a window.",
    )
    add_report_arguments(report)
    report.set_defaults(handler=_report)

    worker = commands.add_parser(
        "worker",
        help="run your escalator's run_due() loop until SIGINT or SIGTERM",
        description="Import MODULE:ATTR (an Escalator, or a function returning one) and call "
        "run_due() in a loop: at once after a busy cycle, after --interval seconds after an "
        "idle one. SIGINT and SIGTERM stop it after the cycle in progress.",
    )
    add_worker_arguments(worker)
    worker.set_defaults(handler=run_worker_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except BrokenPipeError:
        # The reader went away (`escalate report --json | head`): nothing is
        # wrong with the command, so no traceback. Point stdout at /dev/null so
        # the interpreter's final flush does not raise the same error again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # a stdout with no file descriptor
            pass
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
