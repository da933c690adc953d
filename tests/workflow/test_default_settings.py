"""``Workflow.default()`` refuses settings that would only fail later, or be ignored."""

from __future__ import annotations

import pytest

from escalate import BusinessHours, InvalidInput, InvalidWorkflowDefinition, Workflow
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


def test_an_extra_setting_a_template_uses_is_taken() -> None:
    """Any value a template renders: "Billing", or 15 for "within {minutes} min"."""
    workflow = Workflow.default(
        brand="Acme", templates=with_team_in_acknowledgement(), team="Billing"
    )
    assert workflow.settings["team"] == "Billing"
    numeric = Workflow.default(templates=with_team_in_acknowledgement(), team=7)
    assert numeric.settings["team"] == 7


@pytest.mark.parametrize("bad", ["@acme", "acme", "", 12345, "\u0661\u0662\u0663", "\uff11\uff12"])
def test_x_recipient_id_must_be_the_numeric_id(bad: object) -> None:
    """Caught when defined: otherwise the first X thread's open() would fail."""
    with pytest.raises(InvalidInput, match="numeric X user id"):
        Workflow.default(x_recipient_id=bad)  # type: ignore[arg-type]
    assert Workflow.default(x_recipient_id="783214").settings["x_recipient_id"] == "783214"


def test_a_fixed_locale_must_be_in_the_library_at_least_by_its_language() -> None:
    with pytest.raises(InvalidInput, match="'fr' has no templates"):
        Workflow.default(locale="fr")
    with pytest.raises(InvalidInput, match="'fr-CA' has no templates"):
        Workflow.default(locale="fr-CA")
    for locale in ("es", "es-MX", "es_MX", "en-US"):
        assert Workflow.default(locale=locale).settings["locale"] == locale


def test_a_regional_locale_renders_its_languages_templates() -> None:
    assert DEFAULT_TEMPLATES.locale("es-MX") == "es"
    assert DEFAULT_TEMPLATES.locale("en_GB") == "en"
    assert DEFAULT_TEMPLATES.locale("fr-CA") == "en"  # the default stands in
    assert not DEFAULT_TEMPLATES.has_locale("fr-CA")


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("public.ack", "reference"),
        ("public.ack_off_hours", "reference"),
        ("public.ack_off_hours", "back"),
        ("social.private_reply", "reference"),
        ("social.dm_prefill", "reference"),
        ("intro.subject", "reference"),
        ("invite.link", "link"),
    ],
)
def test_a_template_without_what_it_must_say_is_refused(name: str, field: str) -> None:
    """The code in every reply, prefill and subject; the return time off hours; the link."""
    texts = {
        locale: {**names, name: names[name].replace(f"{{{field}}}", "our team")}
        for locale, names in DEFAULT_TEMPLATES.texts.items()
    }
    library = Templates(texts, variables=DEFAULT_TEMPLATES.variables)
    with pytest.raises(InvalidWorkflowDefinition, match=f"'{name}' .* without {{{field}}}"):
        Workflow.default(
            templates=library,
            business_hours=BusinessHours("America/New_York"),
            contact_url="https://acme.example/contact",
        )
    if field in ("back", "link"):  # never rendered without business hours or a page: fine
        Workflow.default(templates=library)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("business_hours", "9-5"),
        ("double_opt_in", "no"),
        ("meta_private_replies", 1),
        ("locale", 123),
        ("locale", None),
        ("sla_warning", "x"),
        ("sla_warning", True),
        ("contact_url", b"https://acme.example"),
        ("templates", {"en": {}}),
        ("brand", None),
    ],
)
def test_a_setting_of_the_wrong_type_is_refused(setting: str, value: object) -> None:
    """double_opt_in="no" would turn double opt-in on; "9-5" would be ignored."""
    with pytest.raises(InvalidInput, match=setting):
        Workflow.default(**{setting: value})
