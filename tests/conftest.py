"""Shared fixtures: a fake clock, every store kind, and an escalator wired with memory doubles."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from escalate import (
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Identity,
    ReplyAddressing,
    Thread,
    Workflow,
)
from escalate.store import MemoryStore, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

IN_CI = os.environ.get("CI") == "true"


def require_server(available: bool, reason: str) -> None:
    """Skip (outside CI) or fail (under ``CI=true``) a test whose server is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


#: Monday 2026-01-05 18:00 UTC: 10:00 in Los Angeles, 13:00 in New York, so a
#: test's texts to US numbers fall inside the default quiet-hours window.
TEST_START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TEST_START)


def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "escalate.db")
    raise ValueError(kind)


STORE_KINDS = ["memory", "sqlite"]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store implementation in turn; contract tests run once per store."""
    instance = make_store(request.param, tmp_path)
    yield instance
    instance.close()


@pytest.fixture
def sms() -> MemoryTransport:
    return MemoryTransport(name="memory")


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def esc(
    store: Store, clock: FakeClock, sms: MemoryTransport, publisher: RecordingPublisher
) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme"),
    )


def make_thread(clock: FakeClock, thread_id: str = "1001", user_id: str = "42") -> Thread:
    return Thread(
        platform="x",
        thread_id=thread_id,
        author=Identity.social("x", user_id, "jane_d"),
        text="my order never arrived and nobody answers",
        posted_at=clock.now(),
    )


WEB_FORM_CONSENT = ConsentEvidence(
    source=ConsentSource.WEB_FORM,
    text="Text me at this number about case updates. Reply STOP to opt out.",
    ip="203.0.113.7",
)
#: An email consent from the consent page, for cases that go private by email.
EMAIL_CONSENT = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Email me about my case.")
#: Signed reply-to addressing, so replies to our emails route back to their case.
REPLIES = ReplyAddressing("support@acme.example", b"0123456789abcdef-secret")


def sql_rows(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of ``sql`` on the SQLite file at ``path``, read (or edited) behind the store."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(sql, params).fetchall()
    conn.close()
    return rows
