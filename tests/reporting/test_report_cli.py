"""`escalate report`: the table, JSON figures and PNG histogram from a real demo database."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput, MissingDependencyError, NaiveDatetimeError
from escalate._report_cli import parse_when
from escalate.cli import main
from escalate.reporting import sla_report, store_report, write_histogram_png
from escalate.store import open_store

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "escalate.db"
    assert main(["demo", "--db", str(path)]) == 0
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_prints_the_table(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On the demo's database the table names every metric with the demo's figures."""
    assert main(["report", "--store", f"sqlite:///{demo_db}"]) == 0
    out = capsys.readouterr().out
    for metric in (
        "handoffs opened",
        "time to first public response",
        "time to private handoff",
        "resolved within 24 h",
        "abandonment rate",
    ):
        assert metric in out
    assert "median 4m 00s" in out  # the demo gives its number 4 minutes after the post
    assert "100.0%" in out
    assert "1 of 1 judged" in out
    assert "0.0%" in out
    assert "0 of 1 closed" in out


def test_report_json_figures(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the figures: one handoff, answered publicly at once, SMS after 4 minutes."""
    assert (
        main(["report", "--store", f"sqlite:///{demo_db}", "--json", "--since", "2020-01-01"]) == 0
    )
    figures = json.loads(capsys.readouterr().out)
    assert figures["handoffs"] == 1
    assert figures["since"] == "2020-01-01T00:00:00+00:00"
    assert figures["first_public_response"]["median_seconds"] == 0.0
    assert figures["private_handoff"]["median_seconds"] == 240.0
    assert figures["resolved_within_24h"] == 1.0
    assert figures["abandonment_rate"] == 0.0


def test_report_window_and_tenant_filter(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A window before the demo, or another tenant, holds no handoffs."""
    url = f"sqlite:///{demo_db}"
    assert main(["report", "--store", url, "--json", "--until", "2020-01-01T00:00Z"]) == 0
    assert json.loads(capsys.readouterr().out)["handoffs"] == 0
    assert main(["report", "--store", url, "--json", "--tenant", "nobody"]) == 0
    assert json.loads(capsys.readouterr().out)["handoffs"] == 0


def test_report_writes_a_valid_png(demo_db: Path, tmp_path: Path) -> None:
    """--png writes a PNG file of the documented size (1000 x 450)."""
    target = tmp_path / "response-times.png"
    assert main(["report", "--store", f"sqlite:///{demo_db}", "--png", str(target)]) == 0
    assert png_size(target) == (1000, 450)


def test_unwritable_png_path_is_a_one_line_error(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--png into a missing directory exits 1 with one line on stderr, no traceback."""
    target = tmp_path / "no-such-dir" / "x.png"
    assert main(["report", "--store", f"sqlite:///{demo_db}", "--png", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("escalate report: error: cannot write")
    assert str(target) in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_empty_report_still_draws(tmp_path: Path) -> None:
    """A report with no handoffs draws 'no data' panels instead of failing."""
    report = sla_report([], [], as_of=datetime(2026, 1, 1, tzinfo=UTC))
    assert png_size(write_histogram_png(report, tmp_path / "empty.png")) == (1000, 450)


def test_missing_matplotlib_names_the_extra(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    demo_db: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without matplotlib the PNG raises MissingDependencyError naming escalate[report]."""
    for name in (
        "matplotlib",
        "matplotlib.figure",
        "matplotlib.backends.backend_agg",
        "matplotlib.ticker",
    ):
        monkeypatch.setitem(sys.modules, name, None)
    report = sla_report([], [], as_of=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(MissingDependencyError, match=r"pip install 'escalate\[report\]'"):
        write_histogram_png(report, tmp_path / "x.png")
    assert (
        main(["report", "--store", f"sqlite:///{demo_db}", "--png", str(tmp_path / "y.png")]) == 1
    )
    assert "escalate[report]" in capsys.readouterr().err
    assert not (tmp_path / "y.png").exists()


def test_bad_input_exits_2(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing database file, an unknown URL or a naive time exit 2 and create nothing."""
    missing = tmp_path / "nope.db"
    assert main(["report", "--store", f"sqlite:///{missing}"]) == 2
    assert not missing.exists()
    assert main(["report", "--store", "redis://x"]) == 2
    store = f"sqlite:///{demo_db}"
    assert main(["report", "--store", store, "--since", "2026-03-01T09:00"]) == 2
    assert main(["report", "--store", store, "--since", "last tuesday"]) == 2
    inverted = ["--since", "2026-03-02", "--until", "2026-03-01"]
    assert main(["report", "--store", store, *inverted]) == 2
    err = capsys.readouterr().err
    assert "no database" in err
    assert "time zone" in err or "zone" in err


def test_a_blank_tenant_is_bad_input(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--tenant ""` names no tenant an escalator can have: exit 2, not a report of 0 handoffs."""
    assert main(["report", "--store", f"sqlite:///{demo_db}", "--tenant", " "]) == 2
    assert "tenant must be a non-empty string" in capsys.readouterr().err
    with pytest.raises(InvalidInput):
        store_report(open_store("memory://"), "", as_of=datetime(2026, 3, 10, tzinfo=UTC))


def test_report_runs_as_a_command(demo_db: Path) -> None:
    """The installed entry point `python -m escalate report` works end to end."""
    done = subprocess.run(
        [sys.executable, "-m", "escalate", "report", "--store", f"sqlite:///{demo_db}", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["handoffs"] == 1


def test_import_escalate_does_not_import_matplotlib() -> None:
    """matplotlib is loaded only when a PNG is written."""
    code = "import sys, escalate, escalate.cli; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()
    )
)
def test_parse_when_reads_any_aware_iso_time(value: datetime) -> None:
    """Any aware time printed in ISO 8601 (DST folds included) parses back to the same instant."""
    assert parse_when(value.isoformat()).astimezone(UTC) == value.astimezone(UTC)


@given(st.datetimes())
def test_parse_when_refuses_naive_times_but_takes_dates(value: datetime) -> None:
    """A time of day without a zone is refused; a bare date is UTC midnight."""
    with pytest.raises(NaiveDatetimeError):
        parse_when(value.isoformat())
    day = value.date()
    assert parse_when(day.isoformat()) == datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert parse_when(day.isoformat()) + timedelta(days=1) > parse_when(day.isoformat())


@pytest.mark.parametrize("text", ["2026-03-10", "20260310", "2026-W11-2", "2026W112"])
def test_parse_when_takes_every_iso_date_form(text: str) -> None:
    """A date in ISO 8601's basic or week form is UTC midnight too, not a naive time."""
    assert parse_when(text) == datetime(2026, 3, 10, tzinfo=UTC)


def test_parse_when_refuses_garbage() -> None:
    """Text that is not ISO 8601 raises InvalidInput."""
    with pytest.raises(InvalidInput):
        parse_when("yesterday")
