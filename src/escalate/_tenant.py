"""The default tenant's name, and what a tenant's name must be.

Kept light (only the exceptions, which load eagerly anyway) so the command line
can use it cheaply.
"""

from __future__ import annotations

from escalate._exceptions import InvalidInput

__all__ = ["DEFAULT_TENANT", "check_tenant"]

#: The tenant every record belongs to unless the caller names another.
DEFAULT_TENANT = "default"


def check_tenant(tenant: object) -> str:
    """``tenant`` if it is a tenant's name.

    Raises:
        InvalidInput: not a string, or a blank one (no escalator writes one: a
            report would read zero handoffs as if that were the answer).
    """
    if not isinstance(tenant, str) or not tenant.strip():
        raise InvalidInput("tenant must be a non-empty string")
    return tenant
