"""``Templates``: a library of named reply templates, per locale, checked when defined.

A template is a ``str.format`` text with named fields only (``{reference}``);
positional fields, attribute or index access (``{a.b}``, ``{a[0]}``), format specs and
conversions are refused, so a template can never reach into an object.
Naming: a name ending in ``.sms`` is an SMS body, ``.email`` an email body,
``.subject`` an email subject; they are private messages, and every private
message must carry ``{reference}`` (thread continuity). A subject is a header:
it may not hold a line break, nor use a setting that holds one. SMS bodies
report their encoding and segment count (``Templates.sms_report``).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from escalate._domain import has_line_break
from escalate._exceptions import InvalidWorkflowDefinition
from escalate._locale import language_of, normal_tag
from escalate.sms import SegmentInfo, segments

__all__ = ["PRIVATE_SUFFIXES", "SmsTemplateCost", "Templates"]

#: Template-name suffixes that mark a private message (sent only with consent).
PRIVATE_SUFFIXES = (".sms", ".email", ".subject")

#: Values used to measure an SMS template when a variable has no sample.
_SAMPLE = "x" * 12


@dataclass(frozen=True)
class SmsTemplateCost:
    """One SMS template's cost in one locale, rendered with sample values."""

    name: str
    locale: str
    text: str
    cost: SegmentInfo


def fields_of(text: str) -> frozenset[str]:
    """The named fields of a format string.

    Raises:
        ValueError: unbalanced braces, a positional field, attribute or index
            access, or a conversion/format spec holding a field.
    """
    names: set[str] = set()
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"field {{{field}}} must be a plain name")
        if conversion or spec:
            # Values are text: a format spec such as {reference:d} would only fail
            # when rendered, in production.
            raise ValueError(f"field {{{field}}} may not use a conversion or format spec")
        names.add(field)
    return frozenset(names)


def _check_shape(
    texts: object, variables: object, default_locale: object, max_sms_segments: object
) -> None:
    """Refuse arguments of the wrong type, naming where, before anything reads them."""
    # Without this a None library or a number for a text fails with a bare
    # TypeError from deep inside, naming neither the locale nor the template.
    if not isinstance(texts, Mapping):
        raise InvalidWorkflowDefinition(
            f"templates must be a mapping {{locale: {{name: text}}}}, not {type(texts).__name__}"
        )
    if not isinstance(default_locale, str):
        raise InvalidWorkflowDefinition("templates: default_locale must be a locale code (str)")
    if max_sms_segments is not None and (
        not isinstance(max_sms_segments, int) or isinstance(max_sms_segments, bool)
    ):
        raise InvalidWorkflowDefinition("templates: max_sms_segments must be an int or None")
    if max_sms_segments is not None and max_sms_segments < 1:
        # Every SMS is at least one segment: such a budget refuses any SMS template,
        # with an error blaming the template, or none when the library has no SMS.
        raise InvalidWorkflowDefinition(
            f"templates: max_sms_segments must be at least 1, not {max_sms_segments}"
        )
    for locale, table in texts.items():
        if not isinstance(locale, str):
            raise InvalidWorkflowDefinition(f"templates: locale {locale!r} must be a str")
        if not isinstance(table, Mapping):
            raise InvalidWorkflowDefinition(
                f"templates: locale {locale!r} must map names to texts,"
                f" not be {type(table).__name__}"
            )
        for name, text in table.items():
            if not isinstance(name, str):
                raise InvalidWorkflowDefinition(
                    f"templates ({locale}): name {name!r} must be a str"
                )
            if not isinstance(text, str):
                raise InvalidWorkflowDefinition(
                    f"template {name!r} ({locale}) must be text (str), not {type(text).__name__}"
                )
    if variables is None:
        return
    if not isinstance(variables, Mapping):
        raise InvalidWorkflowDefinition(
            f"templates: variables must be a mapping {{name: {{variable, ...}}}},"
            f" not {type(variables).__name__}"
        )
    for name, names in variables.items():
        # A bare string would pass as an iterable of one-letter variables.
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise InvalidWorkflowDefinition(
                f"templates: variables of {name!r} must be a collection of names, not"
                f" {type(names).__name__}"
            )
        if not all(isinstance(variable, str) for variable in names):
            raise InvalidWorkflowDefinition(f"templates: variables of {name!r} must be str")


class Templates:
    """Named templates per locale, validated when built.

    Args:
        texts: ``{locale: {name: text}}``; every locale defines the same names.
        variables: ``{name: {variable, ...}}``: the values the workflow passes
            when it renders ``name``. ``settings`` names are always available.
        default_locale: used when a handoff's locale is not in the library.
        max_sms_segments: refuse any ``.sms`` template costing more segments (at
            least 1; ``None``, the default, sets no budget).

    Raises:
        InvalidWorkflowDefinition: an argument of the wrong type (``None``, a
            text that is not a ``str``), a locale missing a template, a malformed
            template, or an unknown variable (reported with name and locale).
    """

    def __init__(
        self,
        texts: Mapping[str, Mapping[str, str]],
        *,
        variables: Mapping[str, Iterable[str]] | None = None,
        default_locale: str = "en",
        max_sms_segments: int | None = None,
    ) -> None:
        _check_shape(texts, variables, default_locale, max_sms_segments)
        if default_locale not in texts:
            raise InvalidWorkflowDefinition(f"templates: no {default_locale!r} locale")
        self.texts = {locale: dict(names) for locale, names in texts.items()}
        self.variables = {name: frozenset(v) for name, v in (variables or {}).items()}
        self.default_locale = default_locale
        self.max_sms_segments = max_sms_segments
        self._fields: dict[tuple[str, str], frozenset[str]] = {}
        names = set(self.texts[default_locale])
        for locale, table in self.texts.items():
            if set(table) != names:
                missing = sorted(names - set(table))
                extra = sorted(set(table) - names)
                raise InvalidWorkflowDefinition(
                    f"templates: locale {locale!r} differs from {default_locale!r}:"
                    f" missing {missing}, extra {extra}"
                )
            for name, text in table.items():
                try:
                    self._fields[(locale, name)] = fields_of(text)
                except ValueError as exc:
                    raise InvalidWorkflowDefinition(
                        f"template {name!r} ({locale}): {exc}"
                    ) from None
        # What a step may pass when it renders a name: its declared variables, and
        # any a locale's text uses (a single-locale library declares none).
        self._accepts: dict[str, frozenset[str]] = {}
        for (_, name), fields in self._fields.items():
            accepted = self._accepts.get(name, self.variables.get(name, frozenset()))
            self._accepts[name] = accepted | fields
        self._check_budget()

    @classmethod
    def single(cls, texts: Mapping[str, str], locale: str = "en") -> Templates:
        """A one-locale library whose templates may use any variable (legacy form)."""
        library = cls({locale: texts})
        library.variables = {name: fields for (_, name), fields in library._fields.items()}
        return library

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.texts[self.default_locale])

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self.texts)

    def fields(self, name: str, locale: str) -> frozenset[str]:
        """The variables template ``name`` uses in ``locale``."""
        return self._fields[(self.locale(locale), name)]

    def locale(self, locale: str) -> str:
        """``locale`` if the library has it, else its language (``es-MX``: ``es``), else default."""
        return self._own_locale(locale) or self.default_locale

    def has_locale(self, locale: str) -> bool:
        """Whether ``locale``, or its language, has templates (no default stands in)."""
        return self._own_locale(locale) is not None

    def _own_locale(self, locale: str) -> str | None:
        if locale in self.texts:
            return locale
        # Tags are case-insensitive (BCP 47): pt-br and pt_BR are a library's pt-BR.
        tag = normal_tag(locale)
        for own in self.texts:
            if normal_tag(own) == tag:
                return own
        language = language_of(locale)
        for own in self.texts:
            if own.lower() == language:
                return own
        return None

    def validate(self, settings: Mapping[str, object], required: Iterable[str] = ()) -> None:
        """Check required names exist, variables are known, private ones carry the reference.

        Raises:
            InvalidWorkflowDefinition: the first problem found, naming template and locale.
        """
        missing = sorted(set(required) - self.names)
        if missing:
            raise InvalidWorkflowDefinition(f"missing templates {missing}")
        common = frozenset(settings)
        for (locale, name), fields in sorted(self._fields.items()):
            unknown = sorted(fields - self.variables.get(name, frozenset()) - common)
            if unknown:
                raise InvalidWorkflowDefinition(
                    f"template {name!r} ({locale}) uses unknown variables {unknown}"
                )
            if name.endswith(PRIVATE_SUFFIXES) and "reference" not in fields:
                raise InvalidWorkflowDefinition(
                    f"template {name!r} ({locale}) is a private message without {{reference}}"
                )
            if name.endswith(".subject"):
                self._check_subject(name, locale, fields, settings)
        self._check_budget({k: v for k, v in settings.items() if isinstance(v, str)})

    def _check_subject(
        self, name: str, locale: str, fields: frozenset[str], settings: Mapping[str, object]
    ) -> None:
        # The email adapters refuse a subject with a line break when sending
        # (it could forge a header): every email would fail for good, and every
        # case fall back or close, instead of this failing once here.
        if has_line_break(self.texts[locale][name]):
            raise InvalidWorkflowDefinition(
                f"template {name!r} ({locale}) is an email subject with a line break"
            )
        for field in sorted(fields):
            value = settings.get(field)
            if isinstance(value, str) and has_line_break(value):
                raise InvalidWorkflowDefinition(
                    f"setting {field!r} holds a line break, and template {name!r}"
                    f" ({locale}), an email subject, uses it"
                )

    def _check_budget(self, samples: Mapping[str, object] | None = None) -> None:
        if self.max_sms_segments is not None:
            for cost in self.sms_report(samples):
                if cost.cost.segments > self.max_sms_segments:
                    raise InvalidWorkflowDefinition(
                        f"template {cost.name!r} ({cost.locale}) costs {cost.cost.segments}"
                        f" SMS segments (max {self.max_sms_segments})"
                    )

    def accepts(self, name: str) -> frozenset[str]:
        """The values a step may pass to ``name``: its declared variables, and those it uses."""
        return self._accepts.get(name, frozenset())

    def check_values(self, name: str, values: Iterable[str]) -> None:
        """Refuse a value ``name`` neither declares nor uses in any locale.

        ``format_map`` ignores an unused value, so a misspelt ``refrence=`` would
        leave ``{reference}`` unfilled in no locale's test and only fail (or not)
        elsewhere. Settings are not values: every template may ignore them.

        Raises:
            InvalidWorkflowDefinition: naming the template and the unknown values.
        """
        accepted = self._accepts.get(name)
        if accepted is None or accepted.issuperset(values):
            return  # (a missing template: render() names it)
        unknown = [value for value in values if value not in accepted]
        if unknown:
            raise InvalidWorkflowDefinition(
                f"template {name!r} is rendered with {sorted(unknown)}, variables it neither"
                f" declares nor uses (it takes {sorted(accepted)})"
            )

    def render(self, name: str, locale: str, values: Mapping[str, object]) -> str:
        """Fill template ``name`` in ``locale`` (or the default locale).

        Raises:
            InvalidWorkflowDefinition: no such template, or a variable it uses has
                no value: an action rendering what its step did not declare.
        """
        texts = self.texts[self.locale(locale)]
        if name not in texts:
            raise InvalidWorkflowDefinition(f"template {name!r} is not in the library")
        try:
            return texts[name].format_map(values)
        except KeyError as exc:
            raise InvalidWorkflowDefinition(
                f"template {name!r} ({locale}) uses {{{exc.args[0]}}}, which has no value"
            ) from None

    def sms_report(self, samples: Mapping[str, object] | None = None) -> list[SmsTemplateCost]:
        """Encoding and segments of every ``.sms`` template in every locale.

        Variables are filled from ``samples`` (a reference code is ``K7QP-3M``),
        and any other variable with 12 characters, so the figure is a realistic
        estimate, not a bound.
        """
        values: dict[str, object] = {"reference": "K7QP-3M", **(samples or {})}
        report = []
        for (locale, name), fields in sorted(self._fields.items()):
            if not name.endswith(".sms"):
                continue
            filled = {field: values.get(field, _SAMPLE) for field in fields}
            text = self.texts[locale][name].format_map(filled)
            report.append(SmsTemplateCost(name, locale, text, segments(text)))
        return report

    def __repr__(self) -> str:
        return f"Templates(locales={list(self.locales)}, names={len(self.names)})"
