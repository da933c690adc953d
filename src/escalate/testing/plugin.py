"""The pytest plugin (entry point ``pytest11``, name ``escalate``): fixtures for workflow tests.

Fixtures:
    fake_clock: a ``FakeClock`` at ``SCENARIO_START`` (2026-03-10 17:00 UTC, a
        Tuesday); the clock ``escalate_scenario`` drives, when a test asks for both.
    escalate_workflow: the workflow ``escalate_scenario`` drives; override it in
        your ``conftest.py`` to test your own.
    escalate_scenario: a ``Scenario`` on that workflow. Strict: a test that passes
        while private sends went unexamined fails at teardown, like respx's
        ``assert_all_called``. ``@pytest.mark.escalate(strict=False, store="sqlite")``
        relaxes it or picks the SQLite store; markers on a test, its class and its
        module combine, the closest winning for each option.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from escalate.testing._clock import FakeClock
from escalate.testing._scenario import SCENARIO_START, Scenario
from escalate.workflow._definition import Workflow

__all__ = ["escalate_scenario", "escalate_workflow", "fake_clock"]

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
_MARKER_OPTIONS = frozenset({"strict", "store"})


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``escalate`` marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        "escalate(strict=True, store='memory'): options of the escalate_scenario fixture",
    )


# Old-style hookwrapper on purpose: the plugin loads in every pytest run of an
# environment where escalate is installed, including pytest 7's.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep the call phase's report, so the strict check runs only after a passing test."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_CALL_REPORT] = report


@pytest.fixture
def fake_clock() -> FakeClock:
    """A ``FakeClock`` at 2026-03-10 17:00 UTC; ``escalate_scenario``'s clock in the same test."""
    return FakeClock(SCENARIO_START)


@pytest.fixture
def escalate_workflow() -> Workflow:
    """The workflow under test: ``Workflow.default()``; override this fixture for your own."""
    return Workflow.default()


@pytest.fixture
def escalate_scenario(
    request: pytest.FixtureRequest, escalate_workflow: Workflow, fake_clock: FakeClock
) -> Iterator[Scenario]:
    """A ``Scenario`` driving ``escalate_workflow``; strict about unexamined sends."""
    options = _marker_options(request.node)
    store = options.get("store", "memory")
    if store not in ("memory", "sqlite"):
        pytest.fail(
            f"escalate marker: store must be 'memory' or 'sqlite', not {store!r}", pytrace=False
        )
    strict = options.get("strict", True)
    if not isinstance(strict, bool):  # bool("no") is True: a string would read as its opposite
        pytest.fail(f"escalate marker: strict must be True or False, not {strict!r}", pytrace=False)
    scenario = Scenario(
        escalate_workflow,
        store="memory://" if store == "memory" else "sqlite",
        clock=fake_clock,
        strict=strict,
    )
    try:
        yield scenario
        report = request.node.stash.get(_CALL_REPORT, None)
        if report is not None and report.passed:
            unexamined = None
            try:
                scenario.verify()
            except AssertionError as exc:
                unexamined = str(exc)
            # Failed outside the except block: inside it, pytest would print the
            # message twice, chained to the AssertionError.
            if unexamined is not None:
                pytest.fail(
                    f"escalate_scenario ended with unexamined sends: {unexamined}", pytrace=False
                )
    finally:
        scenario.close()


def _marker_options(node: pytest.Item) -> dict[str, object]:
    """The ``escalate`` markers' options, merged: a test's own win over its class's and module's.

    Merged rather than only the closest marker, so ``store="sqlite"`` on a class
    still holds for a test of it marked ``strict=False``.
    """
    options: dict[str, object] = {}
    for marker in node.iter_markers("escalate"):  # closest first
        if marker.args:
            pytest.fail(
                f"escalate marker takes keywords (strict=..., store=...), not {marker.args!r}",
                pytrace=False,
            )
        unknown = sorted(set(marker.kwargs) - _MARKER_OPTIONS)
        if unknown:
            pytest.fail(f"unknown escalate marker options {unknown}", pytrace=False)
        for name, value in marker.kwargs.items():
            options.setdefault(name, value)
    return options
