"""Identities (normalized addresses) and contacts (the people they belong to).

``ContactBook`` (``esc.contacts``) resolves, links, unlinks, merges and unmerges
contacts of one tenant, verifies addresses with one-time codes or signed links,
and records merge proposals for a human instead of merging on a guess.
"""

from __future__ import annotations

from escalate._identity import PLATFORMS, Identity, IdentityKind
from escalate.identity._book import ContactBook, LinkEvidence
from escalate.identity._contact import Contact, Link, LinkSource
from escalate.identity._extract import ExtractedIdentity, extract_identities, find_identities
from escalate.identity._policy import LinkAction, LinkPolicy, LinkSituation, default_link_policy
from escalate.identity._records import (
    MergeProposal,
    MergeRecord,
    ProposalStatus,
    VerificationChallenge,
    VerificationRecord,
)
from escalate.identity._verify import VerificationPolicy

__all__ = [
    "PLATFORMS",
    "Contact",
    "ContactBook",
    "ExtractedIdentity",
    "Identity",
    "IdentityKind",
    "Link",
    "LinkAction",
    "LinkEvidence",
    "LinkPolicy",
    "LinkSituation",
    "LinkSource",
    "MergeProposal",
    "MergeRecord",
    "ProposalStatus",
    "VerificationChallenge",
    "VerificationPolicy",
    "VerificationRecord",
    "default_link_policy",
    "extract_identities",
    "find_identities",
]
