"""Workflows: declared, validated steps from a public post to a private, resolved conversation."""

from __future__ import annotations

from escalate._models import TERMINAL_STATES, HandoffState
from escalate.workflow._commands import (
    CancelTimer,
    Command,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._definition import Context, Effects, Step, Transition, Workflow, effects
from escalate.workflow._inputs import (
    ConsentConfirmed,
    ContactProvided,
    Opened,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
    TimerFired,
    WorkflowInput,
)

__all__ = [
    "TERMINAL_STATES",
    "CancelTimer",
    "Command",
    "ConsentConfirmed",
    "ContactProvided",
    "Context",
    "Effects",
    "HandoffState",
    "Notify",
    "Opened",
    "PostPublicReply",
    "PublicReplyPosted",
    "RecordConsent",
    "ReplyReceived",
    "ResolveRequested",
    "SendFailed",
    "SendMessage",
    "StartTimer",
    "Step",
    "TimerFired",
    "Transition",
    "Workflow",
    "WorkflowInput",
    "effects",
]
