"""The default workflow's settings: checked when it is built, read by its steps.

``default_workflow`` refuses, with ``check_types``, ``check_settings``
and ``check_reply_templates``, settings that would only fail later at a customer's
expense; its steps then read them as checked (``duration``).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from escalate._exceptions import InvalidInput, InvalidWorkflowDefinition
from escalate._models import Handoff
from escalate.workflow._default_templates import DEFAULT_VARIABLES
from escalate.workflow._definition import Context
from escalate.workflow._templates import Templates

__all__ = [
    "REPLY_TEMPLATES",
    "REQUIRED_FIELDS",
    "check_reply_templates",
    "check_settings",
    "check_types",
    "duration",
]


def duration(ctx: Context, name: str) -> timedelta:
    """The duration setting ``name`` (``sla``, ``reminder_after``...), a timedelta."""
    value = ctx.settings[name]
    assert isinstance(value, timedelta)  # checked by default_workflow
    return value


def check_types(**values: tuple[object, Any]) -> None:
    """Refuse a setting of the wrong type: ``double_opt_in="no"`` would turn it on."""
    for name, (value, expected) in values.items():
        if not isinstance(value, expected):
            allowed = " or ".join(
                "None" if kind is type(None) else kind.__name__
                for kind in typing.get_args(expected) or (expected,)
            )
            raise InvalidInput(f"{name} must be {allowed}, not {type(value).__name__}")


def check_settings(
    library: Templates,
    locale: str | Callable[[Handoff], str],
    x_recipient_id: str | None,
    extra: dict[str, Any],
) -> None:
    """Refuse settings that would only fail later, at a customer's expense."""
    if x_recipient_id is not None and not (
        isinstance(x_recipient_id, str) and x_recipient_id.isascii() and x_recipient_id.isdigit()
    ):
        # Checked here: on the first X thread the DM link could not be built.
        raise InvalidInput("x_recipient_id must be the brand's numeric X user id, as text")
    if isinstance(locale, str) and not library.has_locale(locale):
        # A callable's locales fall back to the default one per handoff, by design;
        # a fixed locale the library lacks (even by its language) is a mistake
        # made once, here.
        raise InvalidInput(
            f"locale {locale!r} has no templates (the library has {', '.join(library.locales)})"
        )
    used = {
        field
        for name in library.names
        for loc in library.locales
        for field in library.fields(name, loc)
    }
    for name in extra:
        if name not in used:
            raise InvalidInput(
                f"unknown setting {name!r}: not a parameter of Workflow.default(),"
                " and no template uses it"
            )


#: What a replacement library's templates must say, beyond what they may: the
#: public replies and the DM prefill carry the reference code (``decide`` would
#: refuse a reply without it, at the first complaint), the off-hours reply says
#: when the team is back, and the consent-page invitation holds its link (without
#: it every customer is asked for their number with nowhere to give it).
REQUIRED_FIELDS = {
    "public.ack": frozenset({"reference"}),
    "public.ack_off_hours": frozenset({"reference", "back"}),
    "social.private_reply": frozenset({"reference"}),
    "social.dm_prefill": frozenset({"reference"}),
    "invite.link": frozenset({"link"}),
}
#: The templates that are whole public replies.
REPLY_TEMPLATES = ("public.ack", "public.ack_off_hours", "social.private_reply")


def check_reply_templates(library: Templates, *, off_hours: bool, consent_page: bool) -> None:
    """Refuse a replacement library whose templates lack a field ``REQUIRED_FIELDS`` names.

    Or one that does not take a value the default steps pass (``DEFAULT_VARIABLES``):
    ``ctx.render`` refuses a value its template neither declares nor uses (a
    misspelt ``refrence=``), which would otherwise fail at the first such case.
    """
    for name, passed in DEFAULT_VARIABLES.items():
        refused = sorted(passed - library.accepts(name)) if name in library.names else []
        if refused:
            raise InvalidWorkflowDefinition(
                f"template {name!r} neither declares nor uses {refused}, which the default"
                " workflow passes (start from DEFAULT_TEMPLATES.variables)"
            )
    for name, fields in REQUIRED_FIELDS.items():
        # The off-hours reply is never rendered without business hours, nor the
        # page's invitation without a contact_url.
        if name not in library.names or (name == "invite.link" and not consent_page):
            continue
        required = fields - {"back"} if name == "public.ack_off_hours" and not off_hours else fields
        for locale in library.locales:
            missing = sorted(required - library.fields(name, locale))
            if missing:
                kind = "a public reply" if name in REPLY_TEMPLATES else "a template"
                raise InvalidWorkflowDefinition(
                    f"template {name!r} ({locale}) is {kind} without"
                    f" {', '.join('{' + m + '}' for m in missing)}"
                )
