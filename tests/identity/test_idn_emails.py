"""Emails with internationalized domains: one identity whatever the case or the encoding.

A customer types ``Jane@BÜCHER.de``, a CRM exports ``jane@xn--bcher-kva.de``:
both are one address, and normalizing the result again changes nothing.
"""

from __future__ import annotations

import idna
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Identity, InvalidIdentity

# Letters whose single upper case lowercases back to them (no Turkish dotless i:
# its upper case is the ASCII I, another address).
_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüéèñçøåæœλμжкяшğşąęłźžčćđ"
_LABELS = st.text(alphabet=_LETTERS, min_size=1, max_size=8)
_LOCAL = st.from_regex(r"[a-h0-3]{1,4}(\.[a-h0-3]{1,4})?", fullmatch=True)


@settings(max_examples=300)
@given(
    _LOCAL,
    st.lists(_LABELS, min_size=1, max_size=2),
    st.sampled_from(["com", "de", "рф", "org"]),
    st.data(),
)
def test_idn_email_is_one_identity_in_any_case_or_encoding(
    local: str, labels: list[str], tld: str, data: st.DataObject
) -> None:
    domain = ".".join([*labels, tld])
    try:
        base = Identity.email(f"{local}@{domain}")
    except InvalidIdentity:
        return  # a label IDNA refuses (e.g. mixed scripts): refused in every spelling
    flips = data.draw(st.lists(st.booleans(), min_size=len(domain), max_size=len(domain)))
    mixed = "".join(
        c.upper() if flip and len(c.upper()) == 1 else c
        for c, flip in zip(domain, flips, strict=True)
    )
    ascii_domain = idna.encode(domain, uts46=True).decode()
    for typed in (
        f"{local.upper()}@{mixed}",
        f"{local}@{ascii_domain}",
        f" {local}@{ascii_domain.upper()}",
    ):
        assert Identity.email(typed) == base, typed
    assert Identity.email(base.value).value == base.value
