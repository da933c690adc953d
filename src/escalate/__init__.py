"""escalate: move a public social-media complaint into a private, consented conversation.

The names below are the public API; everything in a module whose name starts
with an underscore is internal and may change without notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalate._exceptions import (
    ConcurrentUpdate,
    ConsentRequired,
    ContactMerged,
    CorruptRecord,
    CrossTenantError,
    EscalateError,
    IdentityTaken,
    InvalidConsentReceipt,
    InvalidIdentity,
    InvalidInput,
    InvalidRecipient,
    InvalidWebhookPayload,
    InvalidWorkflowDefinition,
    MissingDependencyError,
    NaiveDatetimeError,
    NotFound,
    NotTheAuthor,
    PermanentTransportError,
    RateLimited,
    RecipientOptedOut,
    RetryableTransportError,
    SchemaTooNew,
    StaleTimer,
    StoreBusy,
    StoreError,
    StoreFull,
    TransitionNotAllowed,
    TransportError,
    UndeclaredTemplate,
    UnknownOutcomeError,
    UnmergeNotPossible,
    VerificationFailed,
    WebhookSignatureError,
)
from escalate._lazy import lazy_exports
from escalate._version import __version__

if TYPE_CHECKING:
    from escalate._clock import Clock, SystemClock
    from escalate._escalator import Escalator
    from escalate._messages import DeliveryStatus, InboundMessage, OutboundMessage, SendResult
    from escalate._models import Channel, Event, Handoff, HandoffState, Thread
    from escalate._outbox import Outbox
    from escalate._pacing import Pacer
    from escalate._timers import Timers
    from escalate.audit import AuditReport
    from escalate.consent import (
        ConsentEvidence,
        ConsentPolicy,
        ConsentRecord,
        ConsentSource,
        Decision,
        Purpose,
    )
    from escalate.identity import (
        Contact,
        ContactBook,
        Identity,
        IdentityKind,
        Link,
        LinkSource,
        MergeProposal,
        extract_identities,
    )
    from escalate.reporting import SlaReport
    from escalate.retry import RetryPolicy
    from escalate.social import PublishedReply, RecordingPublisher, SocialPublisher
    from escalate.store import Store
    from escalate.transports import Transport
    from escalate.workflow import BusinessHours, ReplyAddressing, Templates, Workflow
    from escalate.workflow._engine import DispatchReport, Notifier

# Everything but the exceptions is imported on first use (PEP 562), so that
# `escalate --help` and `except escalate.EscalateError` don't pay for pydantic
# models, phonenumbers' metadata and email-validator's tables.
_LAZY: dict[str, str] = {
    "AuditReport": "escalate.audit",
    "BusinessHours": "escalate.workflow",
    "Channel": "escalate._models",
    "Clock": "escalate._clock",
    "ConsentEvidence": "escalate.consent",
    "ConsentPolicy": "escalate.consent",
    "ConsentRecord": "escalate.consent",
    "ConsentSource": "escalate.consent",
    "Contact": "escalate.identity",
    "ContactBook": "escalate.identity",
    "Decision": "escalate.consent",
    "DeliveryStatus": "escalate._messages",
    "DispatchReport": "escalate.workflow._engine",
    "Escalator": "escalate._escalator",
    "Event": "escalate._models",
    "Handoff": "escalate._models",
    "HandoffState": "escalate._models",
    "Identity": "escalate.identity",
    "IdentityKind": "escalate.identity",
    "InboundMessage": "escalate._messages",
    "Link": "escalate.identity",
    "LinkSource": "escalate.identity",
    "MergeProposal": "escalate.identity",
    "Notifier": "escalate.workflow._engine",
    "OutboundMessage": "escalate._messages",
    "Outbox": "escalate._outbox",
    "Pacer": "escalate._pacing",
    "PublishedReply": "escalate.social",
    "Purpose": "escalate.consent",
    "RecordingPublisher": "escalate.social",
    "ReplyAddressing": "escalate.workflow",
    "RetryPolicy": "escalate.retry",
    "SendResult": "escalate._messages",
    "SlaReport": "escalate.reporting",
    "SocialPublisher": "escalate.social",
    "Store": "escalate.store",
    "SystemClock": "escalate._clock",
    "Templates": "escalate.workflow",
    "Thread": "escalate._models",
    "Timers": "escalate._timers",
    "Transport": "escalate.transports",
    "Workflow": "escalate.workflow",
    "extract_identities": "escalate.identity",
}


__all__ = [
    "AuditReport",
    "BusinessHours",
    "Channel",
    "Clock",
    "ConcurrentUpdate",
    "ConsentEvidence",
    "ConsentPolicy",
    "ConsentRecord",
    "ConsentRequired",
    "ConsentSource",
    "Contact",
    "ContactBook",
    "ContactMerged",
    "CorruptRecord",
    "CrossTenantError",
    "Decision",
    "DeliveryStatus",
    "DispatchReport",
    "EscalateError",
    "Escalator",
    "Event",
    "Handoff",
    "HandoffState",
    "Identity",
    "IdentityKind",
    "IdentityTaken",
    "InboundMessage",
    "InvalidConsentReceipt",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidRecipient",
    "InvalidWebhookPayload",
    "InvalidWorkflowDefinition",
    "Link",
    "LinkSource",
    "MergeProposal",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NotFound",
    "NotTheAuthor",
    "Notifier",
    "OutboundMessage",
    "Outbox",
    "Pacer",
    "PermanentTransportError",
    "PublishedReply",
    "Purpose",
    "RateLimited",
    "RecipientOptedOut",
    "RecordingPublisher",
    "ReplyAddressing",
    "RetryPolicy",
    "RetryableTransportError",
    "SchemaTooNew",
    "SendResult",
    "SlaReport",
    "SocialPublisher",
    "StaleTimer",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreFull",
    "SystemClock",
    "Templates",
    "Thread",
    "Timers",
    "TransitionNotAllowed",
    "Transport",
    "TransportError",
    "UndeclaredTemplate",
    "UnknownOutcomeError",
    "UnmergeNotPossible",
    "VerificationFailed",
    "WebhookSignatureError",
    "Workflow",
    "extract_identities",
    "__version__",
]

# Hidden from type checkers: they would read a module __getattr__ as "every name
# exists, typed Any", so a misspelt import would pass; the TYPE_CHECKING imports
# above are what they see.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
