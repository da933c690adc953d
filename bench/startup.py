"""Start-up cost: `import escalate` and `escalate --help`, median of several runs.

Run: python bench/startup.py [--runs 15]
Each run is a fresh interpreter, so the figures include Python's own start-up;
the bare interpreter (`python -c pass`) is measured side by side as the baseline.
`import escalate` loads names lazily; importing `Escalator` pays for the models.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_ms(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    # The console script beside this interpreter (a venv's bin/), else the one on PATH.
    beside = Path(sys.executable).with_name("escalate")
    escalate_cli = str(beside) if beside.exists() else shutil.which("escalate") or "escalate"
    rows = [
        ("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
        ("python -c 'import escalate'", [sys.executable, "-c", "import escalate"]),
        (
            "... 'from escalate import Escalator'",
            [sys.executable, "-c", "from escalate import Escalator"],
        ),
        ("escalate --help", [escalate_cli, "--help"]),
    ]
    baseline = None
    for label, command in rows:
        value = median_ms(command, runs)
        baseline = baseline or value
        print(f"{label:32} median {value:7.1f} ms  ({value / baseline:.2f}x baseline)")


if __name__ == "__main__":
    main()
