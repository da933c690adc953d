"""``Templates`` refuses arguments of the wrong type with ``InvalidWorkflowDefinition``."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidWorkflowDefinition, Templates


@pytest.mark.parametrize(
    ("texts", "named"),
    [
        (None, "templates must be a mapping"),
        ("en", "templates must be a mapping"),
        ({"en": None}, "locale 'en' must map names to texts"),
        ({"en": ["a.sms"]}, "locale 'en' must map names to texts"),
        ({"en": {"a.sms": 5}}, r"template 'a.sms' \(en\) must be text \(str\), not int"),
        ({"en": {"a.sms": None}}, r"template 'a.sms' \(en\) must be text"),
        ({"en": {5: "{reference}"}}, r"templates \(en\): name 5 must be a str"),
        ({"en": {"a.sms": "{reference}"}, 5: {"a.sms": "x"}}, "locale 5 must be a str"),
    ],
)
def test_a_library_of_the_wrong_shape_names_what_is_wrong(texts: object, named: str) -> None:
    """Was a bare TypeError ("argument of type 'NoneType' is not iterable")."""
    with pytest.raises(InvalidWorkflowDefinition, match=named):
        Templates(texts)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"variables": {"a.sms": "reference"}}, "variables of 'a.sms' must be a collection"),
        ({"variables": {"a.sms": {5}}}, "variables of 'a.sms' must be str"),
        ({"variables": ["reference"]}, "variables must be a mapping"),
        ({"default_locale": None}, "default_locale must be a locale code"),
        ({"max_sms_segments": "2"}, "max_sms_segments must be an int"),
    ],
)
def test_options_of_the_wrong_type_are_refused(options: dict[str, object], named: str) -> None:
    """A bare string for variables would otherwise pass as one-letter variable names."""
    with pytest.raises(InvalidWorkflowDefinition, match=named):
        Templates({"en": {"a.sms": "Case {reference}"}}, **options)  # type: ignore[arg-type]


scalars = st.none() | st.integers() | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(scalars, inner, max_size=3),
    max_leaves=8,
)


@given(values)
def test_anything_is_built_or_refused_as_a_definition_error(texts: object) -> None:
    """No input makes Templates raise anything but InvalidWorkflowDefinition."""
    with contextlib.suppress(InvalidWorkflowDefinition):
        Templates(texts)  # type: ignore[arg-type]


@given(st.dictionaries(st.text(max_size=3), st.dictionaries(st.text(max_size=5), values)))
def test_any_locale_table_is_built_or_refused_as_a_definition_error(texts: object) -> None:
    with contextlib.suppress(InvalidWorkflowDefinition):
        Templates(texts, default_locale="")  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", [0, -1])
@pytest.mark.parametrize("texts", [{"a.email": "Case {reference}"}, {"a.sms": "Case {reference}"}])
def test_a_segment_budget_below_one_is_refused_as_such(budget: int, texts: dict[str, str]) -> None:
    """Every SMS costs a segment: a budget of 0 was kept, or blamed on the template."""
    with pytest.raises(InvalidWorkflowDefinition, match="max_sms_segments must be at least 1"):
        Templates({"en": texts}, max_sms_segments=budget)
