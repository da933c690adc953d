"""``write_histogram_png`` refuses bad arguments and unwritable paths with ``InvalidInput``."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalate import InvalidInput
from escalate.reporting import _histogram, sla_report, write_histogram_png

REPORT = sla_report([], [], as_of=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    """Was IsADirectoryError from matplotlib."""
    with pytest.raises(InvalidInput, match="Is a directory") as caught:
        write_histogram_png(REPORT, tmp_path)
    assert isinstance(caught.value.__cause__, IsADirectoryError)
    assert list(tmp_path.iterdir()) == []
    assert list(tmp_path.parent.glob(f".{tmp_path.name}.*")) == []


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "x.png"
    with pytest.raises(InvalidInput, match="cannot write") as caught:
        write_histogram_png(REPORT, target)
    assert isinstance(caught.value.__cause__, FileNotFoundError)


@pytest.mark.parametrize("bad", [5, None, b"/tmp/x.png"])
def test_a_path_that_is_no_path_is_refused(bad: object) -> None:
    """Was TypeError from deep inside matplotlib."""
    with pytest.raises(InvalidInput, match="path must be"):
        write_histogram_png(REPORT, bad)  # type: ignore[arg-type]


def test_a_report_that_is_no_report_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="SlaReport"):
        write_histogram_png({"handoffs": 3}, tmp_path / "x.png")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk mid-write keeps the earlier PNG whole and leaves no partial file."""
    target = tmp_path / "times.png"
    target.write_bytes(b"the earlier histogram")

    def full_disk(_source: object, _target: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_histogram.os, "replace", full_disk)
    with pytest.raises(InvalidInput, match="No space left on device"):
        write_histogram_png(REPORT, target)
    assert target.read_bytes() == b"the earlier histogram"
    assert [path.name for path in tmp_path.iterdir()] == ["times.png"]


def test_a_written_png_replaces_the_earlier_one_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "times.png"
    target.write_bytes(b"old")
    assert write_histogram_png(REPORT, str(target)) == target
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [path.name for path in tmp_path.iterdir()] == ["times.png"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
