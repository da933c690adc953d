"""docs/workflows.md carries the default workflow's generated tables, exactly.

Regenerate with ``ESCALATE_REGENERATE_DOCS=1 pytest tests/workflow/test_docs.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from escalate import Workflow

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


def sms_table(workflow: Workflow) -> str:
    lines = [
        "| template | locale | encoding | segments | units (septets or UTF-16) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for cost in workflow.sms_report():
        c = cost.cost
        lines.append(f"| `{cost.name}` | {cost.locale} | {c.encoding} | {c.segments} | {c.units} |")
    return "\n".join(lines) + "\n"


def generated() -> dict[str, str]:
    workflow = Workflow.default(brand="Acme")
    return {"transition-table": workflow.transition_table(), "sms-costs": sms_table(workflow)}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated:{name} -->\n)(.*?)(<!-- /generated -->)", re.S)


def test_docs_tables_match_the_default_workflow() -> None:
    """The transition table and SMS costs in docs/workflows.md are what the code prints."""
    text = DOC.read_text()
    for name, content in generated().items():
        if os.environ.get("ESCALATE_REGENERATE_DOCS") == "1":
            text = _block(name).sub(lambda m, c=content: m.group(1) + c + m.group(3), text)
            DOC.write_text(text)
        match = _block(name).search(text)
        assert match is not None, f"docs/workflows.md lacks the generated:{name} block"
        assert match.group(2) == content, f"regenerate docs/workflows.md ({name})"
