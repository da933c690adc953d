"""escalate: move a public social-media complaint into a private, consented conversation.

The names below are the public API; everything in a module whose name starts
with an underscore is internal and may change without notice.
"""

from __future__ import annotations

from escalate._clock import Clock, SystemClock
from escalate._escalator import Escalator
from escalate._exceptions import (
    ConcurrentUpdate,
    ConsentRequired,
    ContactMerged,
    CrossTenantError,
    EscalateError,
    IdentityTaken,
    InvalidConsentReceipt,
    InvalidIdentity,
    InvalidInput,
    InvalidRecipient,
    InvalidWorkflowDefinition,
    MissingDependencyError,
    NaiveDatetimeError,
    NotFound,
    PermanentTransportError,
    RateLimited,
    RecipientOptedOut,
    RetryableTransportError,
    SchemaTooNew,
    StaleTimer,
    TransitionNotAllowed,
    TransportError,
    UnknownOutcomeError,
    UnmergeNotPossible,
    VerificationFailed,
    WebhookSignatureError,
)
from escalate._messages import DeliveryStatus, InboundMessage, OutboundMessage, SendResult
from escalate._models import Channel, Event, Handoff, HandoffState, Thread
from escalate._outbox import Outbox
from escalate._pacing import Pacer
from escalate._version import __version__
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
    "CrossTenantError",
    "Decision",
    "DeliveryStatus",
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
    "InvalidWorkflowDefinition",
    "Link",
    "LinkSource",
    "MergeProposal",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NotFound",
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
    "SystemClock",
    "Templates",
    "Thread",
    "TransitionNotAllowed",
    "Transport",
    "TransportError",
    "UnknownOutcomeError",
    "UnmergeNotPossible",
    "VerificationFailed",
    "WebhookSignatureError",
    "Workflow",
    "extract_identities",
    "__version__",
]
