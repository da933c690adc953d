"""The public side: posting the acknowledgement under a customer's post."""

from __future__ import annotations

from escalate.social._publisher import PublishedReply, RecordingPublisher, SocialPublisher

__all__ = ["PublishedReply", "RecordingPublisher", "SocialPublisher"]
