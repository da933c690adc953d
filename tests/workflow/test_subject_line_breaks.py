"""An email subject that would hold a line break is refused when the workflow is defined.

The email adapters refuse a subject with a line break at send time
(``PermanentTransportError``, so no value can forge a header): a brand or a
subject template holding one made every email of every case fail for good, and
each case fall back or close, instead of failing once when configured.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    Identity,
    InvalidWorkflowDefinition,
    OutboundMessage,
    PermanentTransportError,
    Workflow,
)
from escalate.transports.smtp import SMTPEmail
from escalate.workflow import Templates
from escalate.workflow._default_templates import DEFAULT_TEXTS, DEFAULT_VARIABLES

#: What ``str.splitlines()`` (and so the email package) breaks a line on.
BREAKS = ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_a_subject_with_a_line_break_fails_at_send_time() -> None:
    """Why the check is needed: the adapters refuse the subject, for good."""
    message = OutboundMessage(
        id="ob_1",
        idempotency_key="k",
        channel=Channel.EMAIL,
        to=Identity.email("jane@example.com"),
        body="Case K7QP-3M",
        subject="Acme\nBcc: x@evil.example: your case K7QP-3M",
    )
    with pytest.raises(PermanentTransportError):
        SMTPEmail("127.0.0.1", from_email="help@acme.example").build(message)


@pytest.mark.parametrize("brk", BREAKS)
def test_a_brand_with_a_line_break_is_refused(brk: str) -> None:
    """The brand is in every default subject: a line break in it is refused up front."""
    with pytest.raises(InvalidWorkflowDefinition, match="brand"):
        Workflow.default(brand=f"Acme{brk}Bcc: victim@evil.example")


def test_a_setting_a_replacement_subject_uses_is_checked_too() -> None:
    """Any string setting a subject template uses counts, not only ``brand``."""
    texts = {"en": {**DEFAULT_TEXTS["en"], "intro.subject": "{team}: case {reference}"}}
    library = Templates(texts, variables=DEFAULT_VARIABLES)
    with pytest.raises(InvalidWorkflowDefinition, match="team"):
        Workflow.default(templates=library, team="Billing\r\n")
    Workflow.default(templates=library, team="Billing")


@given(brk=st.sampled_from(BREAKS), where=st.integers(0, 20))
def test_a_subject_template_with_a_line_break_is_refused(brk: str, where: int) -> None:
    """A replacement library's subject holding a line break anywhere is refused."""
    subject = "Re: {brand}: your case {reference}"
    at = min(where, len(subject))
    if "{" in subject[:at] and "}" not in subject[subject.rindex("{", 0, at) : at]:
        at = subject.rindex("{", 0, at)  # not inside a field
    texts = {"en": {**DEFAULT_TEXTS["en"], "reminder.subject": subject[:at] + brk + subject[at:]}}
    with pytest.raises(InvalidWorkflowDefinition, match=r"reminder\.subject"):
        Workflow.default(templates=Templates(texts, variables=DEFAULT_VARIABLES))


def test_a_line_break_in_a_body_or_sms_is_fine() -> None:
    """Bodies are not headers: the default email bodies have line breaks of their own."""
    Workflow.default(brand="Acme")
    assert "\n" in DEFAULT_TEXTS["en"]["intro.email"]
