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
    EscalateError,
    InvalidIdentity,
    InvalidInput,
    InvalidRecipient,
    InvalidWorkflowDefinition,
    MissingDependencyError,
    NaiveDatetimeError,
    NotFound,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    TransitionNotAllowed,
    TransportError,
    UnknownOutcomeError,
    WebhookSignatureError,
)
from escalate._messages import DeliveryStatus, InboundMessage, OutboundMessage, SendResult
from escalate._models import Channel, Event, Handoff, HandoffState, Thread
from escalate._version import __version__
from escalate.consent import ConsentEvidence, ConsentRecord, ConsentSource, Decision, Purpose
from escalate.identity import Contact, Identity, IdentityKind, Link, LinkSource
from escalate.retry import RetryPolicy
from escalate.social import PublishedReply, RecordingPublisher, SocialPublisher
from escalate.store import Store
from escalate.transports import Transport
from escalate.workflow import BusinessHours, ReplyAddressing, Templates, Workflow

__all__ = [
    "BusinessHours",
    "Channel",
    "Clock",
    "ConcurrentUpdate",
    "ConsentEvidence",
    "ConsentRecord",
    "ConsentRequired",
    "ConsentSource",
    "Contact",
    "Decision",
    "DeliveryStatus",
    "EscalateError",
    "Escalator",
    "Event",
    "Handoff",
    "HandoffState",
    "Identity",
    "IdentityKind",
    "InboundMessage",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidRecipient",
    "InvalidWorkflowDefinition",
    "Link",
    "LinkSource",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NotFound",
    "OutboundMessage",
    "PermanentTransportError",
    "PublishedReply",
    "Purpose",
    "RecipientOptedOut",
    "RecordingPublisher",
    "ReplyAddressing",
    "RetryPolicy",
    "RetryableTransportError",
    "SendResult",
    "SocialPublisher",
    "Store",
    "SystemClock",
    "Templates",
    "Thread",
    "TransitionNotAllowed",
    "Transport",
    "TransportError",
    "UnknownOutcomeError",
    "WebhookSignatureError",
    "Workflow",
    "__version__",
]
