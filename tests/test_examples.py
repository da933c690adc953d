"""The examples and the docs' code blocks run as written."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each example script runs to completion."""
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_doc_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block in the docs runs (one namespace per page); ```py sketches compile.

    ```py marks a sketch that needs credentials or a live service (a provider's
    constructor, say): it is checked for syntax only.
    """
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}"}
    text = path.read_text()
    for sketch in re.findall(r"```py\n(.*?)```", text, re.S):
        compile(sketch, str(path), "exec")
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, str(path), "exec"), namespace)
