"""A signed reply-to address is read back whichever form of its domain a mail system wrote.

Our Reply-To names an internationalized mailbox domain in A-labels
(``xn--bcher-kva.example``), as ASCII headers need; a mail client that shows the
domain as written (``bücher.example``) may write that form back in the reply's
``To``, SMTPUTF8 carries it as it is, and case may change on the way. It is the
same mailbox: the reply must still reach its case, and junk must still be ``None``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import ReplyAddressing

SECRET = b"k" * 16
IDN = ReplyAddressing("support@bücher.example", SECRET)
HANDOFF = "ho_0123456789abcdef0123456789abcdef"
handoff_ids = st.from_regex(r"ho_[0-9a-f]{32}", fullmatch=True)


@given(handoff_ids, st.sampled_from(["bücher.example", "BÜCHER.EXAMPLE", "Bücher.Example"]))
def test_the_unicode_form_of_the_domain_reaches_the_case(handoff_id: str, domain: str) -> None:
    """The U-label form, in any case, names the same mailbox as the A-label one."""
    local = IDN.address_for(handoff_id).partition("@")[0]
    assert IDN.resolve(f"{local}@{domain}") == handoff_id
    assert IDN.resolve(f"Acme <{local.upper()}@{domain}>") == handoff_id


@pytest.mark.parametrize(
    "domain",
    ["bucher.example", "bücher.exampl", "xn--bcher.example", "b\x00.example", "."],
)
def test_another_domain_is_still_no_address_of_ours(domain: str) -> None:
    """Only the mailbox's own domain counts, in either form; junk is ``None``, not an error."""
    local = IDN.address_for(HANDOFF).partition("@")[0]
    assert IDN.resolve(f"{local}@{domain}") is None


@given(st.text())
def test_any_domain_text_is_an_answer_never_an_error(domain: str) -> None:
    """Whatever follows the ``@``, ``resolve`` answers (an id or ``None``) and never raises."""
    local = IDN.address_for(HANDOFF).partition("@")[0]
    assert IDN.resolve(f"{local}@{domain}") in (None, HANDOFF)
