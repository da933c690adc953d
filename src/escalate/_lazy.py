"""Lazy package attributes (PEP 562), shared by the packages that re-export names.

A package's ``__init__`` names what it exports and where each lives; nothing is
imported until first use. That keeps ``escalate --help`` fast, and it lets the
record modules (``consent._records``, ``identity._contact``) be imported without
pulling in the services built on them, which would import each other in a cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's ``__getattr__`` and ``__dir__``.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the module that defines it.
        names: the package's ``__all__``.
    """
    namespace = importlib.import_module(package).__dict__
    public = sorted(names)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__
