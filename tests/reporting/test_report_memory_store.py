"""`escalate report` on an in-memory store is refused: it would always be empty."""

from __future__ import annotations

import pytest

from escalate.cli import main


@pytest.mark.parametrize(
    "url", ["memory://", "memory:", " memory:// ", "sqlite://:memory:", "sqlite:///:memory:"]
)
def test_an_in_memory_store_exits_2_saying_why(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new process's memory store has no handoffs: exit 2 naming why, and no report."""
    assert main(["report", "--store", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "in-memory store is empty in a new process" in captured.err
    assert "sqlite:///path.db" in captured.err
