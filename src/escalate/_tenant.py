"""The default tenant's name, kept free of imports so the command line can use it cheaply."""

from __future__ import annotations

__all__ = ["DEFAULT_TENANT"]

#: The tenant every record belongs to unless the caller names another.
DEFAULT_TENANT = "default"
