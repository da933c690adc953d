"""Identities (normalized addresses) and contacts (the people they belong to).

``ContactBook`` (``esc.contacts``) resolves, links, unlinks, merges and unmerges
contacts of one tenant, verifies addresses with one-time codes or signed links,
and records merge proposals for a human instead of merging on a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalate._identity import (
    PLATFORMS,
    Identity,
    IdentityKind,
)
from escalate._lazy import lazy_exports

if TYPE_CHECKING:
    from escalate.identity._book import ContactBook
    from escalate.identity._contact import (
        Contact,
        Link,
        LinkSource,
        Unlinked,
    )
    from escalate.identity._extract import (
        ExtractedIdentity,
        extract_identities,
        find_identities,
    )
    from escalate.identity._linking import LinkEvidence
    from escalate.identity._policy import (
        LinkAction,
        LinkPolicy,
        LinkSituation,
        default_link_policy,
    )
    from escalate.identity._records import (
        MergeProposal,
        MergeRecord,
        ProposalStatus,
        VerificationChallenge,
        VerificationRecord,
    )
    from escalate.identity._verify import (
        VerificationPolicy,
    )

_LAZY: dict[str, str] = {
    "Contact": "escalate.identity._contact",
    "ContactBook": "escalate.identity._book",
    "ExtractedIdentity": "escalate.identity._extract",
    "Link": "escalate.identity._contact",
    "LinkAction": "escalate.identity._policy",
    "LinkEvidence": "escalate.identity._linking",
    "LinkPolicy": "escalate.identity._policy",
    "LinkSituation": "escalate.identity._policy",
    "LinkSource": "escalate.identity._contact",
    "MergeProposal": "escalate.identity._records",
    "MergeRecord": "escalate.identity._records",
    "ProposalStatus": "escalate.identity._records",
    "Unlinked": "escalate.identity._contact",
    "VerificationChallenge": "escalate.identity._records",
    "VerificationPolicy": "escalate.identity._verify",
    "VerificationRecord": "escalate.identity._records",
    "default_link_policy": "escalate.identity._policy",
    "extract_identities": "escalate.identity._extract",
    "find_identities": "escalate.identity._extract",
}

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
    "Unlinked",
    "VerificationChallenge",
    "VerificationPolicy",
    "VerificationRecord",
    "default_link_policy",
    "extract_identities",
    "find_identities",
]

# Hidden from type checkers: they would read a module __getattr__ as "every name
# exists, typed Any", so a misspelt import would pass; the TYPE_CHECKING imports
# above are what they see.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
