"""``contact_url`` is posted publicly as written, so it must be an absolute http(s) URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput, Workflow


@pytest.mark.parametrize(
    "bad",
    [
        "not a url",
        "",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://acme.example/help",
        "acme.example/help",
        "//acme.example/help",
        "/help",
        "https://",
        "https:///help",
        "https://:443/help",
        "https://acme.example:99999/help",
        "https://[::1/help",
        "https://a b.example/help",
        "https://x>y/help",
        "https://acme.example/help\r\nBcc: victim@evil.example",
        "https://acme.example/he\tlp",
    ],
)
def test_a_contact_url_that_is_no_absolute_http_url_is_refused(bad: str) -> None:
    """Caught when defined, not posted as "share a phone number at not a url?ref=..."."""
    with pytest.raises(InvalidInput, match="contact_url"):
        Workflow.default(contact_url=bad)


@pytest.mark.parametrize(
    "good",
    [
        "https://acme.example/help",
        "http://localhost:8000/consent?embed",
        "https://acme.example./help",
        "https://[2001:db8::1]/help",
        "https://192.0.2.1/help",
        "HTTPS://Acme.Example/Help?lang=en#form",
        "https://bücher.example/hilfe",
    ],
)
def test_an_absolute_http_url_is_kept_as_written(good: str) -> None:
    assert Workflow.default(contact_url=good).settings["contact_url"] == good


@given(st.text(max_size=40).map(lambda tail: "https://" + tail))
def test_any_accepted_contact_url_is_http_with_a_host_and_no_space(url: str) -> None:
    """Whatever is accepted reads as one link in a public post."""
    try:
        Workflow.default(contact_url=url)
    except InvalidInput:
        return
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.hostname
    assert not any(char.isspace() or not char.isprintable() for char in url)


@given(st.text(max_size=30))
def test_text_that_is_not_a_url_never_passes(text: str) -> None:
    try:
        Workflow.default(contact_url=text)
    except InvalidInput:
        return
    assert urlsplit(text).scheme in ("http", "https")
