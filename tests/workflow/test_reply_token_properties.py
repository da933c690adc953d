"""Properties of the signed reply-to token: round trip, case, tampering, tenants, junk."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from escalate import ReplyAddressing

SECRET = b"0123456789abcdef-secret"
REPLIES = ReplyAddressing("support@acme.example", SECRET)
OTHER_TENANT = ReplyAddressing("support@acme.example", b"another-tenants-secret-key")
handoff_ids = st.from_regex(r"ho_[0-9a-f]{32}", fullmatch=True)


@given(handoff_ids, st.lists(st.booleans(), min_size=80, max_size=80))
def test_any_mix_of_case_reads_back(handoff_id: str, upper: list[bool]) -> None:
    """A mail system may change the case of any character: still the same case."""
    address = REPLIES.address_for(handoff_id)
    mixed = "".join(c.upper() if up else c for c, up in zip(address, upper, strict=False))
    mixed += address[len(upper) :]
    assert REPLIES.resolve(mixed) == handoff_id


@given(handoff_ids, st.integers(min_value=1, max_value=56))
def test_a_truncated_token_is_no_address(handoff_id: str, cut: int) -> None:
    """Any token cut short is refused, as ``None``."""
    local, _, domain = REPLIES.address_for(handoff_id).partition("@")
    assert REPLIES.resolve(f"{local[:-cut]}@{domain}") is None


@given(handoff_ids, st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True), st.booleans())
def test_an_extra_tag_is_no_address(handoff_id: str, tag: str, before: bool) -> None:
    """A ``+tag`` added before or after the token makes it no address of ours, never an error."""
    local, _, domain = REPLIES.address_for(handoff_id).partition("@")
    box, _, token = local.partition("+")
    tagged = f"{box}+{tag}+{token}" if before else f"{local}+{tag}"
    assert REPLIES.resolve(f"Acme <{tagged}@{domain}>") is None


@given(handoff_ids)
def test_another_secrets_token_is_refused(handoff_id: str) -> None:
    """A token signed with another tenant's (or deployment's) key is not ours."""
    assert REPLIES.resolve(OTHER_TENANT.address_for(handoff_id)) is None


@given(handoff_ids, handoff_ids)
def test_a_mac_moved_to_another_handoff_is_refused(first: str, second: str) -> None:
    """One case's MAC does not open another case."""
    mac = REPLIES.address_for(first).partition("@")[0].rpartition(".")[2]
    forged = f"support+{second}.{mac}@acme.example"
    assert REPLIES.resolve(forged) == (second if first == second else None)


@given(st.text())
def test_any_text_is_an_answer_never_an_error(text: str) -> None:
    """Whatever arrives as a recipient, ``resolve`` answers ``None`` or an id."""
    assert REPLIES.resolve(text) is None
