"""Identities (normalized addresses) and contacts (the people they belong to)."""

from __future__ import annotations

from escalate._identity import PLATFORMS, Identity, IdentityKind
from escalate.identity._book import ContactBook
from escalate.identity._contact import Contact, Link, LinkSource

__all__ = ["PLATFORMS", "Contact", "ContactBook", "Identity", "IdentityKind", "Link", "LinkSource"]
