"""Workflow definitions are checked when they are built, and ``decide`` enforces declarations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InvalidWorkflowDefinition,
    Purpose,
    Templates,
    Thread,
    Workflow,
)
from escalate.consent import ConsentAction
from escalate.testing import FakeClock
from escalate.workflow import (
    CancelTimer,
    Command,
    ContactProvided,
    Context,
    Effects,
    Notify,
    Opened,
    PostPublicReply,
    RecordConsent,
    ResolveRequested,
    SendFailed,
    SendMessage,
    StartTimer,
    Step,
    TimerFired,
    WorkflowInput,
    effects,
)
from escalate.workflow._inputs import ALL_INPUTS, input_kind
from escalate.workflow._steps import Action
from tests.conftest import WEB_FORM_CONSENT

S = HandoffState
NOW = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
TEXTS = {"intro.sms": "Hi from {brand}, case {reference}", "public.ack": "Case {reference}"}


def handoff(state: HandoffState = S.OPENED) -> Handoff:
    thread = Thread(
        platform="x", thread_id="1", author=Identity.social("x", "42"), text="t", posted_at=NOW
    )
    return Handoff(
        id="ho_1", reference="K7QP-3M", thread=thread, opened_at=NOW, updated_at=NOW, state=state
    )


def templates(**extra: str) -> Templates:
    return Templates({"en": {**TEXTS, **extra}}, variables={n: {"reference"} for n in TEXTS})


def start_timer(_: Handoff, __: object, ctx: object) -> object:
    return effects(StartTimer(name="nudge", due_at=NOW + timedelta(hours=1)))


def base_steps(*extra: Step) -> list[Step]:
    return [
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack"),
        Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved"),
        *extra,
    ]


def build(*extra: Step, texts: Templates | None = None) -> Workflow:
    return Workflow(
        "t", base_steps(*extra), templates=texts or templates(), settings={"brand": "A"}
    )


def test_a_timer_without_a_handler_in_a_state_it_can_be_pending_in_is_refused() -> None:
    """A started timer that no TimerFired step handles where it may be pending is an error."""
    with pytest.raises(InvalidWorkflowDefinition, match=r"'nudge'.*acknowledged.*no exit"):
        build(Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", start_timer, starts=("nudge",)))


def test_a_timer_with_a_handler_or_cancelled_on_every_exit_is_accepted() -> None:
    """A timer handled in every state it can be pending in makes a valid definition."""
    workflow = build(
        Step(S.ACKNOWLEDGED, TimerFired, S.RESOLVED, "nudged", timer="nudge"),
        Step(S.OPENED, ContactProvided, S.ACKNOWLEDGED, "c", start_timer, starts=("nudge",)),
    )
    assert workflow.timers == {"nudge"}


def test_a_timer_step_must_name_its_timer_and_the_timer_must_be_started() -> None:
    """TimerFired steps name a started timer; other steps cannot name one."""
    with pytest.raises(InvalidWorkflowDefinition, match="names its timer"):
        build(Step(S.ACKNOWLEDGED, TimerFired, None, "x"))
    with pytest.raises(InvalidWorkflowDefinition, match="never started"):
        build(Step(S.ACKNOWLEDGED, TimerFired, None, "x", timer="ghost"))


def test_a_step_rendering_a_private_message_must_declare_its_consent_purpose() -> None:
    """A step that renders an .sms/.email template without sends= is refused."""
    with pytest.raises(InvalidWorkflowDefinition, match="no consent purpose"):
        build(Step(S.ACKNOWLEDGED, ContactProvided, S.RESOLVED, "c", templates=("intro.sms",)))


def test_an_undeclared_send_is_refused_when_decided() -> None:
    """A SendMessage from a step without sends= raises instead of reaching the outbox."""

    def sneaky(h: Handoff, event: ContactProvided, ctx: object) -> object:
        return effects(SendMessage(channel="sms", to=event.identity, body="hi K7QP-3M"))

    workflow = build(
        Step(S.ACKNOWLEDGED, ContactProvided, S.CONNECTED, "c", sneaky),
        Step(S.CONNECTED, ResolveRequested, S.RESOLVED, "r"),
    )
    event = ContactProvided(identity=Identity.phone("+14155550100"))
    with pytest.raises(InvalidWorkflowDefinition, match="sends for purpose"):
        workflow.decide(handoff(S.ACKNOWLEDGED), event, workflow.context(NOW))


@pytest.mark.parametrize(
    "command",
    [
        SendMessage(channel="sms", to=Identity.phone("+14155550100"), body="hi there"),
        PostPublicReply(text="sorry to hear that"),
        PostPublicReply(text="more in private", private=True),
    ],
)
def test_a_literal_text_without_the_reference_is_refused_when_decided(command: object) -> None:
    """Templates are checked for {reference} when built; a literal text when decided."""

    def literal(h: Handoff, event: object, ctx: object) -> object:
        return effects(command)  # type: ignore[arg-type]

    workflow = build(
        Step(S.OPENED, ResolveRequested, S.RESOLVED, "r", literal, sends=Purpose.TRANSACTIONAL)
    )
    with pytest.raises(InvalidWorkflowDefinition, match="without the handoff's reference code"):
        workflow.decide(handoff(S.OPENED), ResolveRequested(), workflow.context(NOW))
    with_reference = command.model_copy(  # type: ignore[attr-defined]
        update={"body": "hi, case K7QP-3M"}
        if isinstance(command, SendMessage)
        else {"text": "case K7QP-3M"}
    )
    workflow = build(
        Step(
            S.OPENED,
            ResolveRequested,
            S.RESOLVED,
            "r",
            lambda h, e, c: effects(with_reference),
            sends=Purpose.TRANSACTIONAL,
        )
    )
    assert workflow.decide(handoff(S.OPENED), ResolveRequested(), workflow.context(NOW)).commands


def test_an_undeclared_timer_is_refused_when_decided() -> None:
    """A StartTimer the step did not declare in starts= raises."""
    workflow = build(
        Step(S.ACKNOWLEDGED, ContactProvided, S.CONNECTED, "c", start_timer),
        Step(S.CONNECTED, ResolveRequested, S.RESOLVED, "r"),
    )
    event = ContactProvided(identity=Identity.phone("+14155550100"))
    with pytest.raises(InvalidWorkflowDefinition, match="undeclared timer"):
        workflow.decide(handoff(S.ACKNOWLEDGED), event, workflow.context(NOW))


def test_an_opt_in_request_step_must_go_to_awaiting_consent() -> None:
    """opt_in_request=True is only valid on a sending step into awaiting_consent."""
    with pytest.raises(InvalidWorkflowDefinition, match="opt-in request"):
        build(
            Step(
                S.ACKNOWLEDGED,
                ContactProvided,
                S.RESOLVED,
                "c",
                sends=Purpose.TRANSACTIONAL,
                opt_in_request=True,
            )
        )


def test_unknown_template_variables_are_reported_with_name_and_locale() -> None:
    """A variable the workflow never passes, in any one locale, is a definition error."""
    library = Templates(
        {"en": TEXTS, "es": {**TEXTS, "public.ack": "Caso {referencia}"}},
        variables={n: {"reference"} for n in TEXTS},
    )
    with pytest.raises(InvalidWorkflowDefinition, match=r"'public.ack' \(es\).*referencia"):
        build(texts=library)


def test_a_locale_missing_a_template_is_refused() -> None:
    """Every locale defines the same template names."""
    with pytest.raises(InvalidWorkflowDefinition, match=r"locale 'es'.*missing.*intro.sms"):
        Templates({"en": TEXTS, "es": {"public.ack": "Caso {reference}"}})


@pytest.mark.parametrize(
    "text", ["{reference", "{0}", "{a.b}", "{a[0]}", "{reference!r}", "{reference:d}", "{x:>5}"]
)
def test_malformed_or_reaching_templates_are_refused(text: str) -> None:
    """Unbalanced braces, positional, attribute, index fields and conversions are refused."""
    with pytest.raises(InvalidWorkflowDefinition):
        Templates({"en": {"x": text}})


def test_a_private_message_without_the_reference_code_is_refused() -> None:
    """Thread continuity: every .sms/.email template carries {reference}."""
    with pytest.raises(InvalidWorkflowDefinition, match="without \\{reference\\}"):
        build(texts=templates(**{"other.sms": "Hi from {brand}"}))


def test_missing_templates_a_step_renders_are_refused() -> None:
    """A template a step declares but the library lacks is a definition error."""
    with pytest.raises(InvalidWorkflowDefinition, match="missing templates"):
        build(Step(S.ACKNOWLEDGED, ContactProvided, S.CONNECTED, "c", templates=("nope",)))


def test_unreachable_and_dead_end_states_are_refused() -> None:
    """The original structural checks still hold."""
    with pytest.raises(InvalidWorkflowDefinition, match="unreachable"):
        build(Step(S.CONNECTED, ResolveRequested, S.RESOLVED, "r"))
    with pytest.raises(InvalidWorkflowDefinition, match="no way out"):
        Workflow("t", [Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack")])


def test_a_sms_template_over_the_segment_budget_is_refused() -> None:
    """max_sms_segments makes an expensive SMS template a definition error."""
    long = "case {reference} " + "ú" * 80
    with pytest.raises(InvalidWorkflowDefinition, match="costs 2 SMS segments"):
        Templates({"en": {"x.sms": long}}, variables={"x.sms": {"reference"}}, max_sms_segments=1)


def test_the_default_transition_table_names_every_state_and_input() -> None:
    """The default workflow's table names all nine states and every input kind."""
    table = Workflow.default().transition_table()
    for state in HandoffState:
        assert f"| {state.value} |" in table
    kinds: list[type[WorkflowInput]] = list(ALL_INPUTS)
    for input_type in kinds:
        assert f"| {input_kind(input_type)} |" in table
    assert "(not handled)" not in table


def test_reaching_a_terminal_state_cancels_every_timer() -> None:
    """decide appends a CancelTimer for each of the workflow's timers on a terminal transition."""
    workflow = Workflow.default()
    step = workflow.decide(handoff(S.CONNECTED), ResolveRequested(), workflow.context(NOW))
    cancelled = {c.name for c in step.commands if c.kind == "cancel_timer"}
    assert cancelled == workflow.timers == {"first_response_sla", "reminder", "abandon", "idle"}


def test_a_workflow_must_handle_opened_in_its_initial_state() -> None:
    """Without an Opened step every esc.open() would be refused at runtime."""
    with pytest.raises(InvalidWorkflowDefinition, match="no step handles Opened"):
        Workflow("t", [Step(S.OPENED, ResolveRequested, S.RESOLVED, "r")])


def test_steps_out_of_a_terminal_state_are_refused() -> None:
    """A closed handoff stays closed: reopening it would leave closed_at and friends set."""
    with pytest.raises(InvalidWorkflowDefinition, match="terminal states"):
        build(Step(S.RESOLVED, ResolveRequested, S.ACKNOWLEDGED, "reopen"))


def _tell(_: Handoff, __: object, ctx: Context) -> Effects:
    return effects(Notify(topic="late", text=ctx.render("notify.late", reference="K7QP-3M")))


def _tell_and(*also: Command, **updates: object) -> Action:
    def action(handoff: Handoff, event: object, ctx: Context) -> Effects:
        return effects(*_tell(handoff, event, ctx).commands, *also, **updates)

    return action


PHONE = Identity.phone("+14155550100")
LATE = Templates(
    {"en": {**TEXTS, "notify.late": "Case {reference}: late news."}},
    variables={n: {"reference"} for n in (*TEXTS, "notify.late")},
)


def test_a_step_that_stays_in_a_terminal_state_and_notifies_is_accepted() -> None:
    """News of a closed case (a late failure) may reach the helpdesk: the step stays put."""
    workflow = build(
        Step((S.RESOLVED,), SendFailed, None, "late", _tell, templates=("notify.late",)),
        texts=LATE,
    )
    closed = handoff(S.RESOLVED).model_copy(update={"closed_version": 3, "version": 3})
    event = SendFailed(channel=Channel.SMS, reason="undelivered")
    transition = workflow.decide(closed, event, workflow.context(NOW))
    assert transition.state is S.RESOLVED
    assert [c.kind for c in transition.commands] == ["notify"]  # no timer cancels either
    assert transition.handoff.closed_version == 3


@pytest.mark.parametrize(
    "step",
    [
        Step(S.RESOLVED, SendFailed, S.RESOLVED, "to itself, still a target"),
        Step(S.RESOLVED, SendFailed, None, "texts", sends=Purpose.TRANSACTIONAL),
        Step(S.RESOLVED, SendFailed, None, "times", start_timer, starts=("nudge",)),
        Step((S.ACKNOWLEDGED, S.RESOLVED), SendFailed, None, "cancels", cancels=("nudge",)),
    ],
    ids=["target", "sends", "starts", "cancels"],
)
def test_a_step_in_a_terminal_state_that_would_do_more_than_notify_is_refused(
    step: Step,
) -> None:
    with pytest.raises(InvalidWorkflowDefinition, match="terminal state"):
        build(
            step,
            Step(S.OPENED, ContactProvided, S.ACKNOWLEDGED, "c", start_timer, starts=("nudge",)),
            Step(S.ACKNOWLEDGED, TimerFired, None, "nudged", timer="nudge"),
        )


@pytest.mark.parametrize(
    "action",
    [
        _tell_and(PostPublicReply(text="Case K7QP-3M reopened?")),
        _tell_and(
            RecordConsent(
                address=PHONE,
                channel=Channel.SMS,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=WEB_FORM_CONSENT,
            )
        ),
        _tell_and(address=PHONE),
    ],
    ids=["public reply", "consent", "field update"],
)
def test_an_action_doing_more_than_notify_on_a_closed_handoff_is_refused_when_decided(
    action: Action,
) -> None:
    workflow = build(
        Step(S.RESOLVED, SendFailed, None, "late", action, templates=("notify.late",)),
        texts=LATE,
    )
    event = SendFailed(channel=Channel.SMS, reason="undelivered")
    with pytest.raises(InvalidWorkflowDefinition, match="only notifies"):
        workflow.decide(handoff(S.RESOLVED), event, workflow.context(NOW))


def test_a_loop_that_can_never_close_is_refused() -> None:
    """Each state has a way out, but none leads to a terminal state."""
    with pytest.raises(InvalidWorkflowDefinition, match="could never close"):
        Workflow(
            "t",
            [
                Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack"),
                Step(S.ACKNOWLEDGED, ContactProvided, S.AWAITING_CONTACT, "a"),
                Step(S.AWAITING_CONTACT, ContactProvided, S.ACKNOWLEDGED, "b"),
            ],
        )


def _never(_: Handoff, __: object, ___: object) -> bool:
    """never"""
    return False


def test_a_timer_handled_only_by_a_guarded_step_has_no_exit() -> None:
    """A guard may refuse the firing (input.ignored): only an unguarded step is an exit."""
    starts = Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", start_timer, starts=("nudge",))
    guarded = Step(S.ACKNOWLEDGED, TimerFired, S.RESOLVED, "t", guard=_never, timer="nudge")
    resolve = Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved")
    with pytest.raises(InvalidWorkflowDefinition, match="timer with no exit"):
        Workflow("t", [starts, guarded, resolve])
    unguarded = Step(S.ACKNOWLEDGED, TimerFired, S.RESOLVED, "t2", timer="nudge")
    Workflow("t", [starts, guarded, unguarded, resolve])


def test_an_opt_in_request_may_stay_in_awaiting_consent() -> None:
    """Re-sending the request from awaiting_consent with target=None lands where it should."""
    workflow = build(
        Step(
            S.ACKNOWLEDGED,
            ContactProvided,
            S.AWAITING_CONSENT,
            "ask",
            sends=Purpose.TRANSACTIONAL,
            opt_in_request=True,
        ),
        Step(
            S.AWAITING_CONSENT,
            ContactProvided,
            None,
            "ask again",
            sends=Purpose.TRANSACTIONAL,
            opt_in_request=True,
        ),
        Step(S.AWAITING_CONSENT, ResolveRequested, S.RESOLVED, "r"),
    )
    assert len(workflow.steps) == 5


@pytest.mark.parametrize(
    "bad",
    [
        {"source": [S.OPENED]},
        {"source": "opened"},
        {"on": str},
        {"target": "resolved"},
        {"starts": ["nudge"]},
    ],
)
def test_a_malformed_step_is_a_typed_error(bad: dict[str, object]) -> None:
    """Wrong argument types fail as the definition error they are, at the Step."""
    arguments: dict[str, object] = {
        "source": S.OPENED,
        "on": Opened,
        "target": S.ACKNOWLEDGED,
        "reason": "ack",
        **bad,
    }
    with pytest.raises(InvalidWorkflowDefinition):
        Step(**arguments)  # type: ignore[arg-type]


def _renders(name: str) -> object:
    def action(handoff: Handoff, _: object, ctx: object) -> object:
        return effects(PostPublicReply(text=ctx.render(name, reference=handoff.reference)))  # type: ignore[attr-defined]

    return action


@pytest.mark.parametrize("name", ["nope", "needs.more"])
def test_rendering_an_undeclared_or_unfillable_template_is_a_definition_error(name: str) -> None:
    """Not a bare KeyError out of esc.open(): the typed error, naming the template."""
    texts = templates(**{"needs.more": "Case {reference} for {customer}"})
    texts.variables["needs.more"] = frozenset({"reference", "customer"})
    workflow = Workflow(
        "t",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _renders(name)),  # type: ignore[arg-type]
            Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "r"),
        ],
        templates=texts,
        settings={"brand": "A"},
    )
    with pytest.raises(InvalidWorkflowDefinition, match=name.replace(".", r"\.")):
        workflow.decide(handoff(), Opened(), workflow.context(NOW))


def test_an_undeclared_timer_cancel_is_refused_when_decided() -> None:
    """A CancelTimer must be declared in cancels=, like a StartTimer in starts=."""

    def cancels(_: Handoff, __: object, ___: object) -> object:
        return effects(CancelTimer(name="nudge"))

    workflow = build(
        Step(S.ACKNOWLEDGED, ContactProvided, S.CONNECTED, "c", start_timer, starts=("nudge",)),
        Step(S.CONNECTED, TimerFired, None, "t", timer="nudge"),
        Step(S.CONNECTED, ContactProvided, None, "again", cancels),  # type: ignore[arg-type]
        Step(S.CONNECTED, ResolveRequested, S.RESOLVED, "r"),
    )
    event = ContactProvided(identity=Identity.phone("+14155550100"))
    with pytest.raises(InvalidWorkflowDefinition, match="undeclared timer cancel"):
        workflow.decide(handoff(S.CONNECTED), event, workflow.context(NOW))


def test_table_cells_survive_pipes_line_breaks_and_lambdas() -> None:
    """Every steps row keeps its seven cells, and a lambda guard stays visible."""
    workflow = build(
        Step(S.ACKNOWLEDGED, ContactProvided, S.RESOLVED, "a | b\nc", guard=lambda *_: True),
    )
    rows = [line for line in workflow.transition_table().splitlines() if "a \\| b c" in line]
    assert len(rows) == 1
    assert rows[0].replace("\\|", "").count("|") == 7
    assert "&lt;lambda&gt;" in rows[0]


def test_locale_tags_match_whatever_their_case() -> None:
    """pt-br and pt_BR find a library's pt-BR; PT finds pt."""
    library = Templates({"en": {"x": "a"}, "pt-BR": {"x": "b"}, "pt": {"x": "c"}})
    assert library.locale("pt-br") == "pt-BR"
    assert library.locale("pt_BR") == "pt-BR"
    assert library.locale("PT") == "pt"
    assert library.locale("pt-PT") == "pt"


def test_a_handoff_starts_in_the_workflows_initial_state() -> None:
    """initial=ACKNOWLEDGED: open() feeds Opened there, as validation checked."""
    workflow = Workflow(
        "t",
        [
            Step(S.ACKNOWLEDGED, Opened, S.AWAITING_CONTACT, "ack"),
            Step(S.AWAITING_CONTACT, ResolveRequested, S.RESOLVED, "r"),
        ],
        initial=S.ACKNOWLEDGED,
    )
    esc = Escalator("memory://", workflow=workflow, clock=FakeClock(NOW))
    opened = esc.open(handoff().thread)
    assert opened.state is S.AWAITING_CONTACT
    with pytest.raises(InvalidWorkflowDefinition, match="terminal"):
        Workflow("t", [Step(S.OPENED, Opened, S.RESOLVED, "r")], initial=S.RESOLVED)
