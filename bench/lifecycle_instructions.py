"""Instructions per handoff lifecycle, library against raw writes, counted by callgrind.

The timed benchmark (``handoff_lifecycle.py``) is at the mercy of this host: one
tree measured 419/s and 447/s on disk in consecutive runs, and the raw side alone
ranged from 514/s to 1,290/s within an hour. Instruction counts hardly move:
``valgrind --tool=callgrind`` counts the same total for the same code and inputs
whatever else the machine does, and only the random record ids and reference
codes vary the inputs (three runs of one tree: 8,269,725 to 8,290,278 per
library lifecycle, 0.25% apart). This runs the lifecycle of ``handoff_lifecycle.py`` on
``:memory:`` (CPU only) under callgrind, for the library and for the raw replay
of its own writes, twice each: once preparing and running N lifecycles, once
only preparing them. It reports the difference per lifecycle: interpreter
start-up, imports, warm-up and the raw side's parameter building cancel out.

Instructions are not time (a cache miss costs more than an add), so this is for
before/after comparisons of one side, and for the CPU ratio; the timed bench
stays the measure of rates.

    .venv/bin/python bench/lifecycle_instructions.py              # 100 lifecycles
    .venv/bin/python bench/lifecycle_instructions.py --count 300
    .venv/bin/python bench/lifecycle_instructions.py --unvalidated-records

``--unvalidated-records`` is an experiment, not a mode: the library side builds
every escalate record without pydantic's validation (each field set as given,
defaults from a per-class table), which bounds what taking record building out
of pydantic could save. Do not read its records as valid: nothing checks them.

Needs ``valgrind`` on the PATH (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

WARM = 30  # lifecycles run before counting starts, on both sides


def unvalidated_records() -> None:
    """Build escalate's records without validation: see the module docstring."""
    from escalate._model import Model  # noqa: PLC0415 - only inside the counted child

    defaults: dict[type, tuple[dict[str, object], dict[str, Callable[[], object]]]] = {}

    def build(self: Model, /, **data: object) -> None:
        cls = type(self)
        known = defaults.get(cls)
        if known is None:
            fields = cls.model_fields.items()
            known = defaults[cls] = (
                {
                    name: f.default
                    for name, f in fields
                    if not f.is_required() and f.default_factory is None
                },
                {name: f.default_factory for name, f in fields if f.default_factory is not None},  # type: ignore[misc]
            )
        values = dict(known[0])
        for name, factory in known[1].items():
            values[name] = factory()
        values.update(data)
        object.__setattr__(self, "__dict__", values)
        object.__setattr__(self, "__pydantic_fields_set__", set(data))
        object.__setattr__(self, "__pydantic_extra__", None)
        object.__setattr__(self, "__pydantic_private__", None)

    build.__pydantic_base_init__ = True  # type: ignore[attr-defined]
    Model.__init__ = build  # type: ignore[method-assign]


def side(which: str, count: int, *, run: bool = True) -> int:
    """Prepare ``count`` lifecycles of one side after the warm-up; run them if ``run``.

    Both counted runs prepare the same (the raw side builds every parameter up
    front, as the timed bench does before its clock starts): the difference
    between them is the lifecycles alone. Returns the row changes the counted
    lifecycles made.
    """
    sys.path.insert(0, str(Path(__file__).parent))
    from handoff_lifecycle import (  # noqa: PLC0415 - only inside the counted child
        MEMORY,
        Library,
        baseline_statements,
        capture,
        raw_connection,
        run_baseline,
    )

    if which == "library":
        library = Library.open(MEMORY)
        library.run(10**6, WARM)
        before = library.store._conn.total_changes
        if run:
            library.run(1, count)
        return library.store._conn.total_changes - before
    with tempfile.TemporaryDirectory() as name:
        template, own, _ = capture(Path(name) / "capture.db", 0)
    work = baseline_statements(template, own, 1, WARM + count)
    conn = raw_connection(MEMORY)
    run_baseline(conn, work[:WARM])
    before = conn.total_changes
    if run:
        run_baseline(conn, work[WARM:])
    return conn.total_changes - before


def instructions(which: str, count: int, *, run: bool, unvalidated: bool = False) -> int:
    """Instructions callgrind counts for one child process running ``side(which, count, run)``."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--side",
            which,
            "--count",
            str(count),
            *(() if run else ("--prepare-only",)),
            *(("--unvalidated-records",) if unvalidated else ()),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:  # pragma: no cover - valgrind changed its summary line
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr}")
    return int(found.group(1))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100, help="lifecycles counted per side")
    parser.add_argument("--side", choices=["library", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--unvalidated-records",
        action="store_true",
        help="experiment: also count the library with records built unvalidated",
    )
    args = parser.parse_args(argv)
    if args.side:
        if args.unvalidated_records:
            unvalidated_records()
        side(args.side, args.count, run=not args.prepare_only)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on the PATH")
    per = {
        which: (
            instructions(which, args.count, run=True) - instructions(which, args.count, run=False)
        )
        / args.count
        for which in ("library", "raw")
    }
    print(f"lifecycles counted: {args.count} per side, python {sys.version.split()[0]}")
    print(f"library_instructions_per_lifecycle: {per['library']:,.0f}")
    print(f"raw_instructions_per_lifecycle: {per['raw']:,.0f}")
    print(f"ratio: {per['library'] / per['raw']:.2f}")
    if args.unvalidated_records:
        bare = (
            instructions("library", args.count, run=True, unvalidated=True)
            - instructions("library", args.count, run=False, unvalidated=True)
        ) / args.count
        print(f"library_unvalidated_records_per_lifecycle: {bare:,.0f}")
        print(f"saved_by_skipping_validation: {1 - bare / per['library']:.1%}")


if __name__ == "__main__":
    main()
