"""The ``SocialPublisher`` protocol, which posts the public reply, and a recording one."""

from __future__ import annotations

import itertools
import threading
from typing import Protocol, runtime_checkable

from pydantic import ConfigDict

from escalate._model import Model
from escalate._models import Thread
from escalate._redact import redact_body

__all__ = ["PublishedReply", "RecordingPublisher", "SocialPublisher"]


class PublishedReply(Model):
    """A public reply the platform accepted. Its ``repr()`` shows the text's length only."""

    model_config = ConfigDict(frozen=True)

    platform: str
    thread_id: str
    post_id: str
    text: str

    def __repr__(self) -> str:
        # The text greets the author by handle, and a Meta private reply is a
        # private message: personal data, like the PostPublicReply it was made from.
        return (
            f"PublishedReply(platform={self.platform!r}, thread_id={self.thread_id!r}, "
            f"post_id={self.post_id!r}, text={redact_body(self.text)})"
        )


@runtime_checkable
class SocialPublisher(Protocol):
    """Posts a public reply under a thread. Raise a ``TransportError`` on failure.

    A publisher for Facebook/Instagram may also have ``private_reply(thread,
    text) -> PublishedReply`` (Meta's private reply to a comment: one per
    comment, within 7 days); the engine uses it for ``PostPublicReply(private=True)``.
    """

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        """Publish ``text`` as a reply to ``thread``."""
        ...


class RecordingPublisher:
    """The default publisher: records replies in ``replies`` and posts nothing.

    Use it in tests, or until a real platform integration is wired in.
    """

    def __init__(self) -> None:
        self.replies: list[PublishedReply] = []
        self.private_replies: list[PublishedReply] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        with self._lock:
            published = PublishedReply(
                platform=thread.platform,
                thread_id=thread.thread_id,
                post_id=f"reply-{next(self._ids)}",
                text=text,
            )
            self.replies.append(published)
        return published

    def private_reply(self, thread: Thread, text: str) -> PublishedReply:
        """Record a Meta-style private reply to ``thread``'s comment."""
        with self._lock:
            published = PublishedReply(
                platform=thread.platform,
                thread_id=thread.thread_id,
                post_id=f"private-{next(self._ids)}",
                text=text,
            )
            self.private_replies.append(published)
        return published

    def __repr__(self) -> str:
        return f"RecordingPublisher(replies={len(self.replies)})"
