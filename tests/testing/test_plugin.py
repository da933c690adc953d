"""The pytest plugin, run in a nested pytest: loaded from the entry point, fixtures, strictness."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

STORY = """
from escalate.testing import Scenario

def test_story(escalate_scenario: Scenario) -> None:
    s = escalate_scenario
    s.post_publicly()
    s.advance(minutes=5)
    s.customer_provides(phone="(415) 555-0142", consent=True)
    s.assert_sent(1, channel="sms", containing=s.reference)
    s.assert_nothing_more_sent()
"""


def test_entry_point_names_the_plugin_module() -> None:
    """The pytest11 entry point called escalate points at escalate.testing.plugin."""
    (point,) = [ep for ep in entry_points(group="pytest11") if ep.name == "escalate"]
    assert point.value == "escalate.testing.plugin"


def test_fixtures_work_without_any_conftest(pytester: pytest.Pytester) -> None:
    """A bare test module gets escalate_scenario and fake_clock from the installed plugin."""
    pytester.makepyfile(
        STORY
        + """
def test_clock(fake_clock) -> None:
    start = fake_clock.now()
    assert fake_clock.advance(minutes=5) - start == __import__("datetime").timedelta(minutes=5)
"""
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


def test_plugin_loads_in_a_fresh_process(pytester: pytest.Pytester) -> None:
    """In a new interpreter, the entry point alone registers the plugin and its fixtures."""
    pytester.makepyfile(STORY)
    result = pytester.runpytest_subprocess("--trace-config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*escalate*escalate*testing*plugin*"])


def test_disabling_the_plugin_removes_its_fixtures(pytester: pytest.Pytester) -> None:
    """With -p no:escalate the fixtures are gone, proving they came from that plugin name."""
    pytester.makepyfile(STORY)
    result = pytester.runpytest("-p", "no:escalate")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'escalate_scenario' not found*"])


def test_unexamined_send_fails_at_teardown(pytester: pytest.Pytester) -> None:
    """A passing test that left a send unexamined errors at teardown, naming the send."""
    pytester.makepyfile(
        """
def test_forgot_to_look(escalate_scenario) -> None:
    escalate_scenario.post_publicly()
    escalate_scenario.customer_provides(phone="(415) 555-0142")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*unexamined sends*sms to +1********42*"])
    result.stdout.no_fnmatch_line("*+14155550142*")
    # Once in the error's report, not chained to the AssertionError it came from
    # (a -r summary line, as CI asks for, may repeat it).
    reported = [line for line in result.stdout.lines if line.startswith("escalate_scenario")]
    assert len(reported) == 1
    result.stdout.no_fnmatch_line("*During handling of the above exception*")


def test_failing_test_is_not_reported_twice(pytester: pytest.Pytester) -> None:
    """When the test itself fails, the strict teardown check stays quiet."""
    pytester.makepyfile(
        """
def test_fails(escalate_scenario) -> None:
    escalate_scenario.post_publicly()
    escalate_scenario.customer_provides(phone="(415) 555-0142")
    assert escalate_scenario.state.value == "resolved"
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)


def test_marker_relaxes_strictness_and_picks_sqlite(pytester: pytest.Pytester) -> None:
    """@pytest.mark.escalate(strict=False, store="sqlite") is accepted under --strict-markers."""
    pytester.makepyfile(
        """
import pytest
from escalate.store import SQLiteStore

@pytest.mark.escalate(strict=False, store="sqlite")
def test_lenient(escalate_scenario) -> None:
    assert isinstance(escalate_scenario.esc.store, SQLiteStore)
    escalate_scenario.post_publicly()
    escalate_scenario.customer_provides(phone="(415) 555-0142")

@pytest.mark.escalate(colour="blue")
def test_bad_option(escalate_scenario) -> None:
    pass

@pytest.mark.escalate(store="postgres")
def test_bad_store(escalate_scenario) -> None:
    pass
"""
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        ["*unknown escalate marker options*colour*", "*store must be*not 'postgres'*"]
    )


def test_conftest_overrides_the_workflow(pytester: pytest.Pytester) -> None:
    """Overriding escalate_workflow in conftest.py makes escalate_scenario drive that workflow."""
    pytester.makeconftest(
        """
import pytest
from escalate import Workflow

@pytest.fixture
def escalate_workflow() -> Workflow:
    return Workflow.default(brand="Globex")
"""
    )
    pytester.makepyfile(
        """
def test_brand(escalate_scenario) -> None:
    s = escalate_scenario
    s.post_publicly()
    s.customer_provides(phone="(415) 555-0142")
    s.assert_sent(1, containing="Globex")
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_docs_example_passes_under_the_plugin(pytester: pytest.Pytester) -> None:
    """docs/testing.md's example test, as a user's file: pytest runs it with the fixture."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    block = page.split("```python\n", 1)[1].split("```", 1)[0]
    test_only = block.split("# pytest runs the test above", 1)[0]
    assert "def test_one_sms_one_reminder_then_stop(escalate_scenario" in test_only
    pytester.makepyfile(test_only)
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_fake_clock_is_the_scenarios_clock(pytester: pytest.Pytester) -> None:
    """In one test, fake_clock and escalate_scenario share one clock, at SCENARIO_START."""
    pytester.makepyfile(
        """
from datetime import timedelta

from escalate.testing import SCENARIO_START


def test_shared(fake_clock, escalate_scenario) -> None:
    assert escalate_scenario.clock is fake_clock
    assert fake_clock.now() == SCENARIO_START
    fake_clock.advance(minutes=5)
    handoff = escalate_scenario.post_publicly()
    assert handoff.opened_at == SCENARIO_START + timedelta(minutes=5)
"""
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_markers_combine_and_refuse_what_they_would_ignore(pytester: pytest.Pytester) -> None:
    """A class's store= holds under a test's own strict=; positional or non-bool options fail.

    Before, only the closest marker counted (the class's store="sqlite" was dropped),
    positional arguments were ignored, and strict="no" read as strict.
    """
    pytester.makepyfile(
        """
import pytest
from escalate.store import SQLiteStore

@pytest.mark.escalate(store="sqlite")
class TestOnSQLite:
    @pytest.mark.escalate(strict=False)
    def test_both_options(self, escalate_scenario) -> None:
        assert isinstance(escalate_scenario.esc.store, SQLiteStore)
        assert escalate_scenario.strict is False

    @pytest.mark.escalate(store="memory")
    def test_the_closest_wins(self, escalate_scenario) -> None:
        assert not isinstance(escalate_scenario.esc.store, SQLiteStore)

@pytest.mark.escalate("sqlite")
def test_positional(escalate_scenario) -> None:
    pass

@pytest.mark.escalate(strict="no")
def test_strict_as_text(escalate_scenario) -> None:
    pass
"""
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(
        ["*escalate marker takes keywords*('sqlite',)*", "*strict must be True or False*'no'*"]
    )
