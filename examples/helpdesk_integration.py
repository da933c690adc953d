"""A helpdesk integration: the script a support team adapts to wire escalate in.

It shows the five places an integration touches escalate:

1. a new public mention from the helpdesk's webhook -> ``esc.open(Thread(...))``;
2. the consent page's form submission -> ``esc.contact_provided(...)`` with the
   exact text the page showed, the customer's IP address and user agent;
3. an inbound SMS (Twilio's webhook, after signature verification) -> ``esc.inbound``;
4. a scheduler loop calling ``esc.run_due()`` every few seconds;
5. helpdesk notifications (SLA at risk, abandoned) through the ``notifier`` callback,
   and the SLA report at the end (``esc.report()``).

Configuration comes from the environment. With ``HELPDESK_LIVE=1`` and
``TWILIO_*``, ``SENDGRID_*`` or ``SMTP_*`` set it uses the real providers
(SendGrid first, SMTP as its fallback); otherwise it prints one redacted line
per message instead
(``ConsoleTransport``), so ``python examples/helpdesk_integration.py`` runs on a
fresh machine in a few seconds, with no account and no network. In that dry
run the timers are compressed to seconds so the scheduler loop shows them fire.

| variable | default |
| --- | --- |
| ``HELPDESK_LIVE`` | unset: dry run; ``1`` sends through the configured providers |
| ``HELPDESK_DB`` | a SQLite file in a temporary directory, removed at exit |
| ``HELPDESK_TENANT`` / ``HELPDESK_BRAND`` | ``acme`` / ``Acme`` |
| ``HELPDESK_CONSENT_PAGE`` | ``https://help.acme.example/contact`` |
| ``HELPDESK_SLA_MINUTES`` | 60 (dry run: 2 seconds) |
| ``HELPDESK_TICK_SECONDS`` | 5 (dry run: 0.5) |
| ``HELPDESK_TICKS`` | scheduler ticks before exiting; 0 runs until Ctrl-C (dry run: 6) |

Nothing personal is printed: addresses appear redacted (``str(identity)``) and
message bodies only by size.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentPolicy,
    ConsentSource,
    Escalator,
    Handoff,
    Identity,
    InboundMessage,
    InvalidInput,
    NotTheAuthor,
    Pacer,
    PublishedReply,
    Thread,
    Transport,
    Workflow,
)
from escalate.reporting import format_duration
from escalate.transports import ConsoleTransport, FallbackTransport
from escalate.transports.smtp import SMTPEmail
from escalate.workflow import BusinessHours, Notify

# -- configuration -----------------------------------------------------------------------

#: The consent page shows exactly this text next to its checkbox; the evidence
#: stores the same words, so the consent can be proven later.
CONSENT_TEXT = (
    "Yes, {brand} may text or email me about case {reference}. "
    "Msg & data rates may apply. Reply STOP to opt out."
)


@dataclass(frozen=True)
class Config:
    """Everything the integration reads from its environment."""

    store: str
    tenant: str
    brand: str
    consent_page: str
    sla: timedelta
    contact_timeout: timedelta
    tick: float
    ticks: int
    dry_run: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, tmpdir: Path) -> Config:
        """Read the settings; a dry run (no provider configured) compresses timers to seconds."""
        dry_run = not live(env)
        db = env.get("HELPDESK_DB") or str(tmpdir / "escalate.db")
        sla = timedelta(minutes=float(env.get("HELPDESK_SLA_MINUTES") or 60))
        return cls(
            store=f"sqlite:///{db}",
            tenant=env.get("HELPDESK_TENANT") or "acme",
            brand=env.get("HELPDESK_BRAND") or "Acme",
            consent_page=env.get("HELPDESK_CONSENT_PAGE") or "https://help.acme.example/contact",
            sla=timedelta(seconds=2) if dry_run else sla,
            contact_timeout=timedelta(seconds=2.5) if dry_run else timedelta(hours=72),
            tick=float(env.get("HELPDESK_TICK_SECONDS") or (0.5 if dry_run else 5)),
            ticks=int(env.get("HELPDESK_TICKS") or (6 if dry_run else 0)),
            dry_run=dry_run,
        )


def live(env: Mapping[str, str]) -> bool:
    """Real providers only when asked for (``HELPDESK_LIVE=1``) and configured.

    Credentials in a developer's shell alone must not make the example text anyone.
    """
    configured = any(env.get(n) for n in ("TWILIO_ACCOUNT_SID", "SENDGRID_API_KEY", "SMTP_HOST"))
    return env.get("HELPDESK_LIVE") == "1" and configured


def build_transports(env: Mapping[str, str]) -> list[Transport]:
    """The real providers whose variables are set; a console printer in a dry run."""
    transports: list[Transport] = []
    if not live(env):
        return [ConsoleTransport(name="console")]
    if env.get("TWILIO_ACCOUNT_SID"):
        from escalate.transports.twilio import TwilioSMS  # noqa: PLC0415 - escalate[twilio]

        transports.append(TwilioSMS.from_env(env))
    email: list[Transport] = []
    if env.get("SENDGRID_API_KEY"):
        # An optional extra, imported only when configured: escalate[sendgrid].
        from escalate.transports.sendgrid import SendGridEmail  # noqa: PLC0415

        email.append(SendGridEmail.from_env(env))
    if env.get("SMTP_HOST"):
        email.append(SMTPEmail.from_env(env))
    if email:
        # SendGrid first; SMTP only when SendGrid refuses for reasons of its own.
        transports.append(FallbackTransport(email, name="email"))
    if not transports:
        transports.append(ConsoleTransport(name="console"))
    return transports


# -- the helpdesk side: notifications and public replies -----------------------------------


@dataclass
class Helpdesk:
    """Stands in for the helpdesk's API: tickets, internal notes, public replies.

    A real one posts to Zendesk/Freshdesk/Front; this one prints. ``notify`` is
    called from dispatch threads (``concurrency > 1``), hence the lock.
    """

    tickets: dict[str, str] = field(default_factory=dict)  # reference -> handoff id
    notes: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, handoff: Handoff, notify: Notify) -> None:
        """The Escalator's ``notifier``: an internal note on the case's ticket."""
        with self._lock:
            self.notes.append((handoff.reference, notify.topic))
            print(f"  [helpdesk] case {handoff.reference}: {notify.topic}: {notify.text}")

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        """The ``SocialPublisher``: posts the public reply through the helpdesk's social app."""
        with self._lock:
            print(
                f"  [public reply] {thread.platform} thread {thread.thread_id}: {len(text)} chars"
            )
            return PublishedReply(
                platform=thread.platform,
                thread_id=thread.thread_id,
                post_id=f"hd-{len(self.tickets) + 1}",
                text=text,
            )


def build_escalator(config: Config, helpdesk: Helpdesk, env: Mapping[str, str]) -> Escalator:
    """The one ``Escalator`` the web handlers and the scheduler share."""
    workflow = Workflow.default(
        brand=config.brand,
        contact_url=config.consent_page,
        # The public reply's link can be opened by anyone: the page signs the
        # visitor in with X and passes that account as author= (see on_consent_form).
        contact_requires_author=True,
        business_hours=BusinessHours("America/New_York"),
        sla=config.sla,
        contact_timeout=config.contact_timeout,
    )
    return Escalator(
        config.store,
        transports=build_transports(env),
        workflow=workflow,
        publisher=helpdesk,
        tenant=config.tenant,
        notifier=helpdesk.notify,
        region="US",  # national numbers in public posts are read as US numbers
        consent_policy=ConsentPolicy(brand=config.brand, default_zone="America/New_York"),
        # Twilio long codes take about 1 message/s; the console takes anything.
        pacer=Pacer({"twilio": 1, "email": 20, "console": 100}),
        concurrency=4,
    )


# -- 1. a new public mention ------------------------------------------------------------------

PLATFORMS = {"twitter": "x", "x": "x", "facebook": "facebook", "instagram": "instagram"}


def on_mention(esc: Escalator, helpdesk: Helpdesk, payload: Mapping[str, object]) -> Handoff:
    """The helpdesk's "new social mention" webhook: escalate the public post.

    Opening the same post twice (a webhook retry) returns the same handoff.

    Raises:
        InvalidInput: a payload that is not a mention we can escalate.
    """
    mention = payload.get("mention")
    if not isinstance(mention, Mapping):
        raise InvalidInput("payload has no mention")
    author = mention.get("author")
    if not isinstance(author, Mapping):
        raise InvalidInput("mention has no author")
    platform = PLATFORMS.get(str(mention.get("network")))
    if platform is None:
        raise InvalidInput("mention from a network we do not escalate")
    thread = Thread(
        platform=platform,
        thread_id=str(mention["id"]),
        author=Identity.social(platform, str(author["id"]), handle=str(author["username"])),
        text=str(mention["text"]),
        # A timestamp without an offset raises NaiveDatetimeError: we never guess a zone.
        posted_at=datetime.fromisoformat(str(mention["created_at"])),
        url=str(mention.get("url")) if mention.get("url") else None,
    )
    handoff = esc.open(thread)
    helpdesk.tickets[handoff.reference] = handoff.id  # written on the ticket, for the form
    return handoff


# -- 2. the consent page's form ---------------------------------------------------------------


def on_consent_form(
    esc: Escalator, helpdesk: Helpdesk, form: Mapping[str, str], request: Mapping[str, str]
) -> tuple[int, str]:
    """The consent page's POST: the customer gives a phone or email and ticks the box.

    Returns an HTTP status and a message for the page. Nothing is recorded unless
    the box was ticked and the address is valid.

    The page finds the case by ``?ref=``, which is the reference from the public
    reply, so anyone who read the reply could open it. The page therefore signs the
    visitor in with the platform ("Sign in with X") and passes that account as
    ``author=``: escalate takes the details only from the thread's author
    (``NotTheAuthor`` otherwise, with nothing written). A production page should
    also confirm the address (escalate's ``esc.contacts`` verification codes) before
    trusting it for more than this one case.
    """
    handoff_id = helpdesk.tickets.get(form.get("ref", "").strip().upper())
    if handoff_id is None:
        return 404, "unknown case"
    if not form.get("x_user_id", "").isdigit():
        return 401, "please sign in with the account you wrote to us from"
    if form.get("consent") != "on":
        return 400, "please tick the box so we may contact you"
    try:
        if form.get("phone"):
            address = Identity.phone(form["phone"], region="US")
        else:
            address = Identity.email(form.get("email", ""))
    except InvalidInput as exc:  # InvalidIdentity; its message never repeats the value
        return 400, str(exc)
    handoff = esc.handoffs.get(handoff_id)
    evidence = ConsentEvidence(
        source=ConsentSource.WEB_FORM,
        text=CONSENT_TEXT.format(brand=esc.workflow.settings["brand"], reference=handoff.reference),
        ip=request.get("ip"),
        user_agent=request.get("user_agent"),
        thread_id=handoff.thread.thread_id,
    )
    signed_in = Identity.social("x", form["x_user_id"])  # from the page's sign-in, not typed
    try:
        handoff = esc.contact_provided(handoff.id, address, consent=evidence, author=signed_in)
    except NotTheAuthor:
        return 403, "this case belongs to another account"  # and say nothing about it
    return 200, f"thanks! case {handoff.reference} continues by {handoff.channel}"


# -- 3. an inbound SMS ----------------------------------------------------------------------


def on_inbound_sms(esc: Escalator, params: Mapping[str, str]) -> Handoff | None:
    """Twilio's incoming-message webhook, after its X-Twilio-Signature was verified.

    STOP/HELP/START are handled by escalate (revocation, help text); anything else
    from a linked number reaches that customer's open handoff.
    """
    message = InboundMessage(
        channel=Channel.SMS,
        sender=Identity.phone(params["From"]),
        body=params["Body"],
        received_at=esc.clock.now(),
        tenant=esc.tenant,
        provider="twilio",
        provider_message_id=params.get("MessageSid"),
    )
    return esc.inbound(message)


# -- 4. the scheduler -------------------------------------------------------------------------


def run_scheduler(esc: Escalator, *, tick: float, ticks: int) -> None:
    """Call ``run_due()`` every ``tick`` seconds: fire timers, send what is due.

    ``ticks=0`` runs until interrupted (a worker process); otherwise it stops.
    """
    n = 0
    while ticks == 0 or n < ticks:
        n += 1
        report = esc.run_due()
        done = {k: v for k, v in vars(report).items() if v}
        if done:
            print(f"  tick {n}: {done}")
        time.sleep(tick)


# -- the script -------------------------------------------------------------------------------


@contextmanager
def integration(env: Mapping[str, str]) -> Iterator[tuple[Escalator, Helpdesk, Config]]:
    with tempfile.TemporaryDirectory(prefix="helpdesk-") as tmp:
        config = Config.from_env(env, tmpdir=Path(tmp))
        helpdesk = Helpdesk()
        with build_escalator(config, helpdesk, env) as esc:
            yield esc, helpdesk, config


def main() -> None:
    env = os.environ
    with integration(env) as (esc, helpdesk, config):
        mode = "dry run, console transport" if config.dry_run else "live providers"
        print(f"escalate helpdesk integration ({mode}), tenant {config.tenant!r}")
        now = esc.clock.now().isoformat()

        print("1. two public mentions arrive from the helpdesk")
        jane = on_mention(esc, helpdesk, {"mention": {
            "id": "1897001122334455", "network": "twitter", "created_at": now,
            "text": "@acme my order never arrived", "url": "https://x.com/i/1897001122334455",
            "author": {"id": "2244994945", "username": "jane_d"},
        }})  # fmt: skip
        quiet = on_mention(esc, helpdesk, {"mention": {
            "id": "1897001122339999", "network": "twitter", "created_at": now,
            "text": "@acme charged twice??", "author": {"id": "1500400300", "username": "sam_p"},
        }})  # fmt: skip
        print(f"   cases {jane.reference} and {quiet.reference}, both {jane.state}")

        print("2. the consent page: a stranger, a typo, then a valid number")
        browser = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (iPhone)"}
        for user_id, phone in (
            ("1500400300", "(415) 555-0199"),  # sam_p read the public reply too
            ("2244994945", "555-01"),
            ("2244994945", "(415) 555-0142"),
        ):
            form = {"ref": jane.reference, "phone": phone, "consent": "on", "x_user_id": user_id}
            status, text = on_consent_form(esc, helpdesk, form, browser)
            print(f"   HTTP {status}: {text}")
        for row in esc.store.outbox(esc.tenant, handoff_id=jane.id):
            # At night in the customer's zone the first SMS waits for 08:00 (quiet hours).
            print(f"   outbox: {row.command.kind} {row.status.value}, due {row.due_at:%H:%M} UTC")

        print("3. inbound SMS: the customer answers; an unknown number asks for HELP")
        matched = on_inbound_sms(esc, {"From": "+14155550142", "Body": "order 4471, thanks"})
        print(f"   reached case {matched.reference if matched else None}")
        matched = on_inbound_sms(esc, {"From": "+14155550177", "Body": "HELP"})
        print(f"   reached case {matched.reference if matched else None} (answered with help)")

        print(f"4. scheduler: {config.ticks or 'unbounded'} ticks of {config.tick}s")
        run_scheduler(esc, tick=config.tick, ticks=config.ticks)
        esc.resolve(jane.id, reason="replacement shipped")

        print("5. SLA report")
        report = esc.report()
        print(f"   handoffs opened:          {report.handoffs}")
        first = report.first_public_response.median
        print(f"   first public response:    median {format_duration(first)}")
        print(
            f"   time to private handoff:  median {format_duration(report.private_handoff.median)}"
        )
        print(f"   abandonment rate:         {report.abandonment_rate}")
        print(f"   helpdesk notes:           {helpdesk.notes}")
        print(f"   audit log intact:         {esc.verify_log().ok}")


if __name__ == "__main__":
    main()
