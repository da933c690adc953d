"""A step renders only the templates it declares, with only the values they take.

A new-user trial found a step's action could ``ctx.render`` a library template
its step did not declare in ``templates=``: it worked, so the definition never
checked that template (a locale lacking it failed only in production) and the
transition table's "renders" column left it out. ``ctx.render`` also ignored a
value its template does not take, so a misspelt ``refrence=`` went unnoticed.
"""

from __future__ import annotations

from typing import Any

import pytest

from escalate import (
    HandoffState,
    InvalidWorkflowDefinition,
    Templates,
    UndeclaredTemplate,
    Workflow,
)
from escalate.testing import Scenario
from escalate.workflow import (
    DEFAULT_TEMPLATES,
    Context,
    Opened,
    PostPublicReply,
    ResolveRequested,
    Step,
    effects,
)
from tests.workflow.test_definition import NOW, handoff

S = HandoffState

TEXTS = {
    "en": {"public.ack": "Case {reference}", "public.later": "Later: case {reference}"},
    "es": {"public.ack": "Caso {reference}", "public.later": "Luego: caso {reference}"},
}
LIBRARY = Templates(TEXTS, variables={"public.ack": {"reference"}, "public.later": {"reference"}})


def _workflow(action: Any, declared: tuple[str, ...] = ("public.ack",)) -> Workflow:
    steps = [
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", action, templates=declared),
        Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved"),
    ]
    return Workflow("t", steps, templates=LIBRARY, settings={"brand": "Acme"})


def _reply(template: str, **values: object) -> Any:
    def action(handoff: Any, _: object, ctx: Context) -> Any:
        return effects(PostPublicReply(text=ctx.render(template, **values)))

    return action


def test_rendering_a_template_the_step_does_not_declare_raises_when_decided() -> None:
    """An action rendering a library template missing from its step's templates= is refused."""
    workflow = _workflow(_reply("public.later", reference="K7QP-3M"))
    with pytest.raises(UndeclaredTemplate, match=r"'public.later'.*declare it in templates=") as e:
        workflow.decide(handoff(), Opened(), workflow.context(NOW))
    assert isinstance(e.value, InvalidWorkflowDefinition)
    assert e.value.template == "public.later"
    assert e.value.step == "opened --opened--> 'ack'"


def test_a_declared_template_renders_and_the_table_lists_it() -> None:
    """Declared, the same template renders, and the transition table shows it."""
    workflow = _workflow(_reply("public.later", reference="K7QP-3M"), ("public.later",))
    step = workflow.decide(handoff(), Opened(), workflow.context(NOW))
    assert step.commands[0] == PostPublicReply(text="Later: case K7QP-3M")
    assert "renders `public.later`" in workflow.transition_table()


def test_a_users_scenario_test_hits_the_undeclared_template() -> None:
    """The first complaint in a user's escalate.testing test fails, and nothing is published."""

    def later(handoff: Any, _: object, ctx: Context) -> Any:
        return effects(
            PostPublicReply(text=ctx.render("public.later", reference=handoff.reference))
        )

    with Scenario(_workflow(later)) as scenario, pytest.raises(UndeclaredTemplate):
        scenario.post_publicly("my order never arrived")
    assert scenario.public_replies == []


def test_a_misspelt_value_is_refused() -> None:
    """A value the template neither declares nor uses (refrence=) is named, not ignored."""
    workflow = _workflow(_reply("public.ack", reference="K7QP-3M", refrence="K7QP-3M"))
    with pytest.raises(InvalidWorkflowDefinition, match=r"'public.ack'.*\['refrence'\]"):
        workflow.decide(handoff(), Opened(), workflow.context(NOW))


def test_a_declared_value_one_locale_does_not_use_is_accepted() -> None:
    """A value the template declares is taken even where a locale's text leaves it out."""
    texts = {
        "en": {"public.ack": "{who}, case {reference}"},
        "es": {"public.ack": "Caso {reference}"},
    }
    library = Templates(texts, variables={"public.ack": {"reference", "who"}})
    steps = [
        Step(
            S.OPENED,
            Opened,
            S.ACKNOWLEDGED,
            "ack",
            _reply("public.ack", reference="K7QP-3M", who="Jane"),
            templates=("public.ack",),
        ),
        Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved"),
    ]
    workflow = Workflow("t", steps, templates=library, settings={"locale": "es"})
    step = workflow.decide(handoff(), Opened(), workflow.context(NOW))
    assert step.commands[0] == PostPublicReply(text="Caso K7QP-3M")


def test_settings_a_template_does_not_use_are_no_extra_values() -> None:
    """Every setting is offered to every template; only the step's own values are checked."""
    workflow = _workflow(_reply("public.ack", reference="K7QP-3M"))  # brand= is not used
    step = workflow.decide(handoff(), Opened(), workflow.context(NOW))
    assert step.commands[0] == PostPublicReply(text="Case K7QP-3M")


def test_a_replacement_library_must_take_what_the_default_steps_pass() -> None:
    """A default replacement library whose template takes no {reference} fails when defined."""
    texts = {
        locale: {**table, "invite.dm": "DM us"} for locale, table in DEFAULT_TEMPLATES.texts.items()
    }
    variables = {**DEFAULT_TEMPLATES.variables, "invite.dm": frozenset()}
    with pytest.raises(InvalidWorkflowDefinition, match=r"'invite.dm'.*\['reference'\]"):
        Workflow.default(templates=Templates(texts, variables=variables))
    # Starting from the default variables, leaving {reference} out of the text is fine.
    kept = Workflow.default(templates=Templates(texts, variables=DEFAULT_TEMPLATES.variables))
    assert kept.templates.accepts("invite.dm") == {"reference"}
