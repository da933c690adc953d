"""The markdown transition table of a workflow: states, inputs, and every declared step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalate._models import TERMINAL_STATES, HandoffState
from escalate.workflow._inputs import ALL_INPUTS, input_kind

if TYPE_CHECKING:
    from escalate.workflow._definition import Step, Workflow

__all__ = ["render_table"]


def render_table(workflow: Workflow) -> str:
    """Three markdown tables: states (open/terminal), inputs (and whether handled), steps."""
    lines = ["| state | kind |", "| --- | --- |"]
    lines += [
        f"| {s.value} | {'terminal' if s in TERMINAL_STATES else 'open'}"
        f"{' (initial)' if s is workflow.initial else ''} |"
        for s in HandoffState
    ]
    handled = {input_kind(step.on) for step in workflow.steps}
    lines += ["", "| input | meaning |", "| --- | --- |"]
    for input_type in ALL_INPUTS:
        kind = input_kind(input_type)
        doc = (input_type.__doc__ or "").strip().splitlines()[0]
        lines.append(f"| {kind} | {doc}{'' if kind in handled else ' (not handled)'} |")
    lines += [
        "",
        "| from | on | to | when | reason | does |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for step in workflow.steps:
        for state in step.sources:
            target = step.target.value if step.target else f"{state.value} (stays)"
            lines.append(
                f"| {state.value} | {input_kind(step.on)} | {target} | {_cell(_when(step))}"
                f" | {_cell(step.reason)} | {_does(step)} |"
            )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text that stays one markdown table cell, shown as written."""
    # A pipe would split the cell, a line break end the row, and "<lambda>"
    # would render as an (invisible) HTML tag.
    return (
        " ".join(text.split())
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _when(step: Step) -> str:
    parts = []
    if step.timer:
        parts.append(f"timer `{step.timer}`")
    if step.guard is not None:
        doc = (step.guard.__doc__ or "").strip().splitlines()
        parts.append(doc[0].rstrip(".") if doc else getattr(step.guard, "__name__", "guard"))
    return "; ".join(parts)


def _does(step: Step) -> str:
    parts = []
    if step.sends is not None:
        parts.append(
            f"sends ({step.sends.value}{', opt-in request' if step.opt_in_request else ''})"
        )
    if step.templates:
        parts.append("renders " + ", ".join(f"`{t}`" for t in step.templates))
    if step.starts:
        parts.append("starts " + ", ".join(f"`{t}`" for t in step.starts))
    if step.cancels:
        parts.append("cancels " + ", ".join(f"`{t}`" for t in step.cancels))
    return "; ".join(parts)
