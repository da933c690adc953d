"""Invitation helpers: how a public reply asks the customer to go private, within platform limits.

- X: a DM deep link, ``https://x.com/messages/compose?recipient_id=...&text=...``,
  opens a DM to the brand with the reference code prefilled.
- Facebook / Instagram: a *private reply* to the comment: one message per
  comment, only within 7 days of it; after the customer answers, the usual
  24-hour messaging window applies (nothing here sends in it).
- Anywhere: a consent page link carrying the reference code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from escalate._clock import ensure_aware
from escalate._domain import check_url
from escalate._exceptions import InvalidInput
from escalate._models import Thread

__all__ = [
    "META_PRIVATE_REPLY_WINDOW",
    "consent_page_link",
    "meta_private_reply_allowed",
    "x_dm_link",
]

#: Meta accepts one private reply per comment, within 7 days of the comment.
META_PRIVATE_REPLY_WINDOW = timedelta(days=7)
#: What ``quote`` leaves unencoded that cannot end a link X recognises.
_UNSAFE_LAST = ".~"


def x_dm_link(recipient_id: str, text: str) -> str:
    """A link that opens an X DM to ``recipient_id`` (the brand's numeric id) with ``text``.

    Percent-encoded throughout (a space is ``%20``), so that X links the whole
    URL in a post, the prefilled text's last character included.
    """
    if not isinstance(recipient_id, str) or not (recipient_id.isascii() and recipient_id.isdigit()):
        raise InvalidInput("recipient_id must be the brand's numeric X user id")
    # X's autolinker (twitter-text) ends a link's query only on a letter, a digit
    # or one of "-_&=#/": with a space as "+", the prefill's trailing space (the
    # customer types their number right after it) was cut from the link, and
    # "reach me at4155550100" holds no number. A space is "%20", and a final "."
    # or "~" (which quote leaves as they are) is encoded too.
    query = urlencode({"recipient_id": recipient_id, "text": text}, quote_via=quote)
    if query[-1] in _UNSAFE_LAST:
        query = query[:-1] + f"%{ord(query[-1]):02X}"
    return f"https://x.com/messages/compose?{query}"


def meta_private_reply_allowed(thread: Thread, now: datetime, *, earlier_handoffs: int = 0) -> bool:
    """True when a Meta private reply to ``thread``'s comment is still allowed at ``now``.

    Meta allows one private reply per comment, within 7 days of it. Only the
    workflow's ``Opened`` step issues one, so the comment has had one exactly
    when the thread was escalated before (``earlier_handoffs``, from
    ``Opened``): a comment escalated again after its case closed gets none.
    """
    if thread.platform not in ("facebook", "instagram") or earlier_handoffs:
        return False
    return within_private_reply_window(thread, now)


def within_private_reply_window(thread: Thread, now: datetime) -> bool:
    """Whether ``now`` is within Meta's 7 days of ``thread``'s comment (checked again at send)."""
    return ensure_aware(now, "now") - thread.posted_at <= META_PRIVATE_REPLY_WINDOW


def consent_page_link(base_url: str, reference: str) -> str:
    """``base_url`` with ``?ref=<reference>`` set, so the page knows the case.

    A ``ref`` already in ``base_url`` is replaced; its other parameters stay as
    they are written (a signed URL's encoding, a bare ``?embed``).

    Raises:
        InvalidInput: ``base_url`` is not an absolute http(s) URL with a host.
    """
    check_url(base_url, "the consent page's URL")
    parts = urlsplit(base_url)
    kept = [p for p in parts.query.split("&") if p and p.partition("=")[0] != "ref"]
    query = "&".join([*kept, urlencode({"ref": reference})])
    return urlunsplit(parts._replace(query=query))
