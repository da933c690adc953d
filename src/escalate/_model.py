"""``Model``: the pydantic base of escalate's public records.

It keeps two house rules that plain pydantic models break:

- bad input to a constructor raises escalate's own typed error (an ``InvalidInput``,
  so still a ``ValueError``), not ``pydantic.ValidationError``; an escalate error
  raised by a field validator (``NaiveDatetimeError``, ``InvalidIdentity``) comes
  out as itself. The message names the fields and what is wrong with them but
  never echoes the input, which may be personal data.
- ``str()`` is the (redacted) ``repr()``: pydantic's own ``__str__`` bypasses a
  custom ``__repr__`` and would print phone numbers and message bodies.

Deserializing with ``model_validate`` still raises ``ValidationError``: that is
stored data, not caller input. Its text never quotes the data either
(``hide_input_in_errors``): a row edited outside escalate fails a worker's read,
and the worker logs the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from escalate._exceptions import EscalateError, InvalidInput

__all__ = ["Model"]


class Model(BaseModel):
    """Base of escalate's pydantic records: typed construction errors, redacted ``str()``."""

    # Subclasses' own model_config is merged into this one, so every record keeps it.
    model_config = ConfigDict(hide_input_in_errors=True)

    def __init__(self, /, **data: Any) -> None:
        # What BaseModel.__init__ does, called directly: records are built by the
        # dozen per handoff step, and the extra call and keyword repacking showed.
        try:
            self.__pydantic_validator__.validate_python(data, self_instance=self)
        except ValidationError as exc:
            raise self._invalid_input(exc) from None

    # This __init__ only translates errors; it builds nothing pydantic would not.
    # Marking it as pydantic's own keeps pydantic from routing every *nested*
    # model through it (which re-validated each one: 3x slower loads).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's ``model_copy``: a copy with ``update`` set, unvalidated.

        The shallow copy is done here without pydantic's generic ``copy.copy()``
        calls: a handoff step copies a handoff and its events about a dozen
        times. Deep copies, and models with extra or private attributes (escalate
        has none), take pydantic's own path.
        """
        if deep or self.__pydantic_extra__ is not None or self.__pydantic_private__ is not None:
            return super().model_copy(update=update, deep=deep)
        copied = self.__class__.__new__(self.__class__)
        values = self.__dict__.copy()
        fields_set = self.__pydantic_fields_set__.copy()
        if update:
            values.update(update)
            fields_set.update(update)
        _set = object.__setattr__
        _set(copied, "__dict__", values)
        _set(copied, "__pydantic_extra__", None)
        _set(copied, "__pydantic_fields_set__", fields_set)
        _set(copied, "__pydantic_private__", None)
        return copied

    @classmethod
    def _invalid_input(cls, exc: ValidationError) -> EscalateError:
        errors = exc.errors(include_url=False, include_input=False)
        if len(errors) == 1:
            cause = errors[0].get("ctx", {}).get("error")
            if isinstance(cause, EscalateError):
                return cause
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}"
            for error in errors
        )
        return cls._input_error(problems)

    @classmethod
    def _input_error(cls, problems: str) -> EscalateError:
        """The error for input that does not validate; a subclass may narrow it."""
        return InvalidInput(f"invalid {cls.__name__}: {problems}")

    def __str__(self) -> str:
        return repr(self)
