"""Workflows: declared, validated steps from a public post to a private, resolved conversation."""

from __future__ import annotations

from escalate._models import TERMINAL_STATES, HandoffState, channel_for
from escalate.workflow._commands import (
    CancelTimer,
    Command,
    MoveTimer,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._default import default_workflow
from escalate.workflow._default_templates import DEFAULT_TEMPLATES
from escalate.workflow._definition import (
    ContactAddress,
    Context,
    Effects,
    Step,
    Transition,
    Workflow,
    effects,
)
from escalate.workflow._hours import BusinessHours
from escalate.workflow._inputs import (
    AgentReplied,
    ContactProvided,
    Opened,
    OptedOut,
    OptInConfirmed,
    PublicReplyFailed,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendDeferred,
    SendFailed,
    TimerFired,
    WorkflowInput,
)
from escalate.workflow._invite import (
    META_PRIVATE_REPLY_WINDOW,
    consent_page_link,
    meta_private_reply_allowed,
    x_dm_link,
)
from escalate.workflow._messages import PrivateMessage
from escalate.workflow._templates import SmsTemplateCost, Templates
from escalate.workflow._threading import ReplyAddressing, thread_headers

__all__ = [
    "AgentReplied",
    "channel_for",
    "DEFAULT_TEMPLATES",
    "META_PRIVATE_REPLY_WINDOW",
    "TERMINAL_STATES",
    "BusinessHours",
    "CancelTimer",
    "Command",
    "ContactAddress",
    "ContactProvided",
    "Context",
    "Effects",
    "HandoffState",
    "Notify",
    "Opened",
    "OptInConfirmed",
    "OptedOut",
    "PostPublicReply",
    "PrivateMessage",
    "PublicReplyFailed",
    "PublicReplyPosted",
    "RecordConsent",
    "ReplyAddressing",
    "ReplyReceived",
    "ResolveRequested",
    "SendDeferred",
    "SendFailed",
    "SendMessage",
    "SmsTemplateCost",
    "MoveTimer",
    "StartTimer",
    "Step",
    "Templates",
    "TimerFired",
    "Transition",
    "Workflow",
    "WorkflowInput",
    "consent_page_link",
    "default_workflow",
    "effects",
    "meta_private_reply_allowed",
    "thread_headers",
    "x_dm_link",
]
