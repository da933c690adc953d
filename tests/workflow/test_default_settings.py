"""``Workflow.default()`` refuses settings that would only fail later, or be ignored."""

from __future__ import annotations

import pytest

from escalate import InvalidInput, Workflow
from escalate.workflow import Templates
from escalate.workflow._default_templates import DEFAULT_TEMPLATES


def with_team_in_acknowledgement() -> Templates:
    """The default library, its public acknowledgement signed by a ``{team}`` setting."""
    texts = {
        locale: {**names, "public.ack": names["public.ack"] + " ({team})"}
        for locale, names in DEFAULT_TEMPLATES.texts.items()
    }
    return Templates(texts, variables=DEFAULT_TEMPLATES.variables)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"double_optin": True}, "double_optin"),  # a misspelt flag would leave opt-in off
        ({"double_optin": "yes"}, "double_optin"),
        ({"brnad": "Acme"}, "brnad"),
    ],
)
def test_a_keyword_no_template_uses_is_refused(settings: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        Workflow.default(**settings)


def test_an_extra_setting_a_template_uses_is_taken_as_text() -> None:
    workflow = Workflow.default(
        brand="Acme", templates=with_team_in_acknowledgement(), team="Billing"
    )
    assert workflow.settings["team"] == "Billing"
    with pytest.raises(InvalidInput, match="must be text"):
        Workflow.default(templates=with_team_in_acknowledgement(), team=7)


@pytest.mark.parametrize("bad", ["@acme", "acme", "", 12345])
def test_x_recipient_id_must_be_the_numeric_id(bad: object) -> None:
    """Caught when defined: otherwise the first X thread's open() would fail."""
    with pytest.raises(InvalidInput, match="numeric X user id"):
        Workflow.default(x_recipient_id=bad)  # type: ignore[arg-type]
    assert Workflow.default(x_recipient_id="783214").settings["x_recipient_id"] == "783214"


def test_a_fixed_locale_must_be_in_the_library() -> None:
    with pytest.raises(InvalidInput, match="'fr' has no templates"):
        Workflow.default(locale="fr")
    assert Workflow.default(locale="es").settings["locale"] == "es"
