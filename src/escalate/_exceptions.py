"""Every error escalate raises, in one place.

Each class says what the caller can do about it: fix the input, retry later,
or stop contacting someone. Builtins are mixed in where they fit, so existing
``except ValueError`` / ``except LookupError`` code keeps working.

::

    EscalateError
    ├── InvalidInput (ValueError)               fix the input; nothing was written
    │   ├── InvalidIdentity                       a phone, email or social id that won't normalize
    │   ├── NaiveDatetimeError                    a datetime without a time zone
    │   ├── CrossTenantError                      a contact or record of another tenant
    │   ├── ContactMerged                         the contact is a tombstone (merged away)
    │   ├── IdentityTaken                         the identity belongs to another live contact
    │   ├── UnmergeNotPossible                    the merge was already undone
    │   ├── VerificationFailed                    wrong, expired, used or forged code/link
    │   ├── NotTheAuthor                          contact details not from the thread's author
    │   ├── InvalidConsentReceipt                 a consent receipt that is not Kantara v1.1
    │   └── InvalidWebhookPayload                 a verified webhook whose body cannot be read
    ├── NotFound (LookupError)                   no such handoff / contact
    ├── ConcurrentUpdate                         someone else changed it first; reload and retry
    │   └── StaleTimer                             the timer was cancelled or fired; drop it
    ├── SchemaTooNew                             the database is from a newer escalate; upgrade
    ├── StoreError                               the database failed a write; nothing was written
    │   ├── StoreBusy                              another connection held the write lock; retry
    │   └── StoreFull                              the disk or the database's size cap is full
    ├── CorruptRecord (ValueError)               a stored row that no longer reads: edited by hand
    ├── RateLimited                              too many attempts; wait ``retry_after`` seconds
    ├── ConsentRequired                          stop contacting: no consent, or it was revoked
    ├── TransportError                           sending failed
    │   ├── RetryableTransportError                the provider did not take it; safe to retry
    │   ├── PermanentTransportError                the provider refused it; do not retry
    │   │   ├── InvalidRecipient                     bad, unreachable or landline address
    │   │   └── RecipientOptedOut                    the carrier/provider holds an opt-out
    │   └── UnknownOutcomeError                    it may have been sent; hold, never resend blindly
    ├── WebhookSignatureError                    an inbound request failed verification
    ├── InvalidWorkflowDefinition                a workflow is wrong when it is defined
    │   └── UndeclaredTemplate                     a step rendered a template not in its templates=
    ├── TransitionNotAllowed                     an event that the handoff's state does not accept
    └── MissingDependencyError (ImportError)     an optional extra is not installed
"""

from __future__ import annotations

__all__ = [
    "ConcurrentUpdate",
    "ConsentRequired",
    "ContactMerged",
    "CorruptRecord",
    "CrossTenantError",
    "EscalateError",
    "IdentityTaken",
    "InvalidConsentReceipt",
    "InvalidIdentity",
    "InvalidInput",
    "InvalidRecipient",
    "InvalidWebhookPayload",
    "InvalidWorkflowDefinition",
    "MissingDependencyError",
    "NaiveDatetimeError",
    "NotFound",
    "NotTheAuthor",
    "PermanentTransportError",
    "RateLimited",
    "RecipientOptedOut",
    "RetryableTransportError",
    "SchemaTooNew",
    "StaleTimer",
    "StoreBusy",
    "StoreError",
    "StoreFull",
    "TransitionNotAllowed",
    "TransportError",
    "UndeclaredTemplate",
    "UnknownOutcomeError",
    "UnmergeNotPossible",
    "VerificationFailed",
    "WebhookSignatureError",
]


class EscalateError(Exception):
    """Root of every error escalate raises on purpose."""


class InvalidInput(EscalateError, ValueError):
    """The caller passed something escalate cannot accept; nothing was written."""


class InvalidIdentity(InvalidInput):
    """A phone number, email address or social id that cannot be normalized.

    Attributes:
        kind: ``"phone"``, ``"email"`` or ``"social"``.
        reason: why it was refused, without echoing the raw value (it is personal data).
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"invalid {kind} identity: {reason}")
        self.kind = kind
        self.reason = reason


class NaiveDatetimeError(InvalidInput):
    """A datetime without tzinfo: escalate cannot know which instant it means."""

    def __init__(self, what: str = "datetime") -> None:
        super().__init__(f"{what} must be timezone-aware (got a naive datetime)")


class CrossTenantError(InvalidInput):
    """A contact, merge or identity record of another tenant: tenants are never crossed."""


class ContactMerged(InvalidInput):
    """The contact was merged into another (it is a tombstone); act on the survivor.

    Attributes:
        contact_id: the tombstone.
        merged_into: the contact it was merged into.
    """

    def __init__(self, contact_id: str, merged_into: str) -> None:
        super().__init__(f"contact {contact_id!r} was merged into {merged_into!r}")
        self.contact_id = contact_id
        self.merged_into = merged_into


class IdentityTaken(InvalidInput):
    """The identity is linked to another live contact; merge or unlink first.

    Attributes:
        contact_id: the contact that holds it.
    """

    def __init__(self, contact_id: str) -> None:
        super().__init__(f"identity is already linked to contact {contact_id!r}")
        self.contact_id = contact_id


class UnmergeNotPossible(InvalidInput):
    """The merge cannot be undone (it already was)."""


class VerificationFailed(InvalidInput):
    """A one-time code or confirm link was refused; nothing was verified.

    Attributes:
        reason: ``"wrong_code"``, ``"expired"``, ``"used"``, ``"too_many_attempts"``,
            ``"bad_signature"``, ``"unknown"`` or ``"erased"`` (the address's person
            was erased since the code was issued).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"verification failed: {reason}")
        self.reason = reason


class NotTheAuthor(InvalidInput):
    """Contact details for a handoff from someone not shown to be its thread's author.

    Either the platform account the consent page signed the visitor in with is
    not the public thread's author, or the workflow requires that account
    (``contact_requires_author``) and none was given. Nothing was written: do
    not contact the address given, and do not tell the visitor about the case.
    """


class InvalidConsentReceipt(InvalidInput):
    """A consent receipt is malformed: not JSON, or not Kantara Consent Receipt v1.1."""


class InvalidWebhookPayload(InvalidInput):
    """A webhook request (verified, or accepted insecurely) whose body cannot be parsed.

    Answer the provider with a 4xx: retrying the same body will not help.
    """


class NotFound(EscalateError, LookupError):
    """No record with that id (in this tenant)."""


class ConcurrentUpdate(EscalateError):
    """The record changed between read and write; reload and try again."""


class StaleTimer(ConcurrentUpdate):
    """A change fires a timer that is no longer pending (a reply cancelled it, or
    another worker fired it); nothing was written, and the firing should be dropped.

    Attributes:
        timer_id: the timer.
    """

    def __init__(self, timer_id: str) -> None:
        super().__init__(f"timer {timer_id!r} is no longer pending")
        self.timer_id = timer_id


class SchemaTooNew(EscalateError):
    """The database was written by a newer escalate; upgrade escalate to use it."""


class StoreError(EscalateError):
    """The database could not complete a write (an I/O error, a read-only or damaged file).

    The whole change was rolled back: nothing of it was written, and the store
    is usable again once the cause is fixed. Retrying before then fails the
    same way. The subclasses are the causes a retry can outlast.

    Attributes:
        code: the database's own error name, e.g. ``"SQLITE_IOERR_WRITE"``.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class StoreBusy(StoreError):
    """Another connection held the write lock for longer than the store's ``timeout``.

    Nothing was written; retry later (or give the store a longer ``timeout``).
    """


class StoreFull(StoreError):
    """The disk, or the database's own size cap, is full; nothing was written.

    Free space, then retry: the store needs no reopening.
    """


class CorruptRecord(EscalateError, ValueError):
    """A stored record that no longer reads as one: it was changed outside escalate.

    The message names where it is, never what it holds (an edited row may hold
    anything). For the audit log, ``Escalator.verify_log()`` reports every such
    row, and what else was changed, without raising. Any other record (a
    handoff, a contact, an outbox row) is named by its id, with what is wrong
    in it (``detail``: fields and problems, never values): restore that row
    from a backup. A ``ValueError``, as the parsing error it stands for was.

    Attributes:
        record: what it is, e.g. ``"audit event"``, ``"handoff"``, ``"outbox row"``.
        seq: an audit event row's position (``seq``); None for other records.
        handoff_id: the handoff that was being read, when one was.
        record_id: the record's own id, for records other than audit events.
        detail: what does not read, e.g. ``"thread.author.value: Value error, ..."``.
    """

    def __init__(
        self,
        record: str,
        seq: int | None = None,
        *,
        handoff_id: str | None = None,
        record_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.detail = detail
        if seq is None:
            why = "" if detail is None else f" ({detail})"
            message = (
                f"the {record} {record_id!r} cannot be read{why}: it was changed outside"
                " escalate; restore its row from a backup"
            )
        else:
            where = f"seq {seq}" if handoff_id is None else f"seq {seq}, handoff {handoff_id}"
            message = (
                f"the {record} at {where} cannot be read: it was changed outside escalate;"
                " run Escalator.verify_log() to check the whole audit log"
            )
        super().__init__(message)
        self.record = record
        self.seq = seq
        self.handoff_id = handoff_id
        self.record_id = record_id


class RateLimited(EscalateError):
    """Too many requests for one address in the window; nothing was written.

    Attributes:
        retry_after: seconds until a new request will be accepted.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConsentRequired(EscalateError):
    """Sending would contact an address without consent for the purpose.

    Attributes:
        reason: the consent decision's reason code (for example ``"revoked"``).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class TransportError(EscalateError):
    """A transport could not deliver a message to its provider.

    Attributes:
        provider: the transport's provider name, e.g. ``"twilio"``.
        code: the provider's own error code, when it gave one.
        raw: the provider's raw error payload, kept for diagnosis.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str | None = None,
        raw: object = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = code
        self.raw = raw


class RetryableTransportError(TransportError):
    """The provider proves it did not accept the message; retrying is safe.

    Attributes:
        retry_after: seconds the provider asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        code: str | None = None,
        raw: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code, raw=raw)
        self.retry_after = retry_after


class PermanentTransportError(TransportError):
    """The provider refused the message; sending it again will fail again."""


class InvalidRecipient(PermanentTransportError):
    """The address cannot receive this channel (invalid, unreachable, landline, hard bounce)."""


class RecipientOptedOut(PermanentTransportError):
    """The provider or carrier holds an opt-out for this address; stop contacting it."""


class UnknownOutcomeError(TransportError):
    """The request may have reached the provider: hold it for reconciliation, never resend."""


class WebhookSignatureError(EscalateError):
    """An inbound webhook failed signature verification; it was not recorded."""


class InvalidWorkflowDefinition(EscalateError):
    """A workflow definition is inconsistent; raised when it is defined."""


class UndeclaredTemplate(InvalidWorkflowDefinition):
    """A step's action rendered a template its step does not declare in ``templates=``.

    Raised when the step is decided (a unit test with ``escalate.testing`` hits
    it): the definition's checks of that template, in every locale, never ran,
    and the transition table would not list it.

    Attributes:
        template: the template's name.
        step: the step, as the transition table shows it (``opened --opened-->``).
    """

    def __init__(self, template: str, step: str) -> None:
        super().__init__(
            f"{step}: renders template {template!r}, which the step does not declare"
            f" (declare it in templates=, so it is checked in every locale)"
        )
        self.template = template
        self.step = step


class TransitionNotAllowed(EscalateError):
    """The handoff's current state does not accept this event.

    Attributes:
        state: the state the handoff is in.
        event: the name of the event that was refused.
    """

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"event {event!r} is not allowed in state {state!r}")
        self.state = state
        self.event = event


class MissingDependencyError(EscalateError, ImportError):
    """An optional extra is needed; the message names the ``pip install`` to run."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is not installed; install it with: pip install 'escalate[{extra}]'"
        )
        self.package = package
        self.extra = extra
