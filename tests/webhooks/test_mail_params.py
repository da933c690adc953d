"""MIME header parameters are read as the stdlib reads them, in time linear in the header.

compat32 re-copied the rest of a header per parameter and recounted its quotes
at every ``;`` inside them: a 10,000-character Content-Disposition of quoted
``;`` took 130 ms to read, twice per form part, and a 40 MB POST holds 4,000.
"""

from __future__ import annotations

import email.message
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from escalate.webhooks._mail import MAX_HEADER_CHARS, form_fields, mime, text_of
from escalate.webhooks._mail_params import Message, split_params
from tests.webhooks.test_inbound_limits import within

_HEADER = st.text(st.sampled_from(" ;;=\"\\'*%aAnN0123\t"), max_size=40)


@given(_HEADER)
def test_parameters_split_as_the_stdlib_splits_them(value: str) -> None:
    """Quotes, escaped quotes and a ";" inside them: the stdlib's parts, one by one."""
    stdlib: Any = email.message._parseparam  # type: ignore[attr-defined]
    assert split_params(value) == stdlib(value)


@given(st.sampled_from(["form-data", "text/plain"]), _HEADER)
def test_parameters_read_as_the_stdlib_reads_them(kind: str, params: str) -> None:
    """RFC 2231 continuations and charsets included: get_params and get_param agree."""
    ours, theirs = Message(), email.message.Message()
    for message in (ours, theirs):
        message["Content-Disposition"] = kind + params
    assert ours.get_params(header="content-disposition") == theirs.get_params(
        header="content-disposition"
    )
    assert ours.get_param("n", header="content-disposition") == theirs.get_param(
        "n", header="content-disposition"
    )


def test_a_form_of_long_quoted_parameter_lists_is_read_in_linear_time() -> None:
    """A megabyte of form parts with 10,000 characters of quoted ";" each: 13 s before."""
    disposition = 'form-data; name="x"; a="' + ";" * (MAX_HEADER_CHARS - 40) + '"'
    part = f"--X\r\nContent-Disposition: {disposition}\r\n\r\nSTOP\r\n"
    body = (part * 100 + "--X--\r\n").encode()
    with within(3):
        fields = form_fields("multipart/form-data; boundary=X", body)
    assert fields == {"x": b"STOP"}


def test_a_raw_email_s_parameters_are_read_by_the_same_split() -> None:
    """The boundary and charset of a raw email come from the same reading."""
    content_type = 'multipart/mixed; boundary="b;1"; a="' + ";" * (MAX_HEADER_CHARS - 60) + '"'
    raw = (
        f"From: jane@example.com\r\nContent-Type: {content_type}\r\n\r\n"
        "--b;1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSTOP\r\n--b;1--\r\n"
    ).encode()
    with within(3):
        message = mime(raw)
        assert isinstance(message, Message)
        assert text_of(message).strip() == "STOP"
