"""Shared fixtures: a migrated database, settings, the real Dispatcher driven with a mocked Bot."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy.engine import make_url

from bot import replies
from bot.i18n import load_catalog
from bot.settings import Settings
from storage.db import Database
from tests.databases import BACKENDS, POSTGRES_URL, PostgresTemplates, SqliteTemplates, pg_execute, unavailable
from tests.e2e import TOKEN as E2E_TOKEN
from tests.e2e import BotProcess
from tests.factories import make_tree
from tests.fakebot import FakeTelegram
from tests.harness import Harness
from tests.intake_driver import Reporter

TOKEN = "123456:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture(scope="session")
def sqlite_templates() -> Iterator[SqliteTemplates]:
    templates = SqliteTemplates()
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[PostgresTemplates]:
    templates = PostgresTemplates()
    yield templates
    templates.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test that touches the database runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A freshly migrated database of the test's backend (a copy of a template migrated once)."""
    if backend == "sqlite":
        yield request.getfixturevalue("sqlite_templates").fresh(tmp_path)
        return
    templates: PostgresTemplates = request.getfixturevalue("postgres_templates")
    url = templates.fresh()
    yield url
    templates.drop(url)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it (not migrated), on each backend: for the migration tests."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    name = f"bt_migrations_{uuid.uuid4().hex[:10]}"
    try:
        pg_execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        unavailable("PostgreSQL", f"{type(exc).__name__}: {exc}")
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await replies.settle()  # replies sent by the test's updates are settled before the database goes
    await database.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, bot_token=TOKEN, database_url=db_url)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


@pytest.fixture
async def harness(db: Database, settings: Settings, catalog) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    h = Harness(db, settings, catalog)
    yield h
    await h.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=E2E_TOKEN, bot_username="school_safety_bot") as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """An aiogram Bot talking to `fake` over HTTP."""
    client = fake.create_bot()
    yield client
    await client.session.close()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that raises is retried after a delay; without the delay a bug fails the test at once."""
    monkeypatch.setattr("bot.runtime.RETRY_DELAY", 0)


@pytest.fixture
async def tree(db: Database) -> dict[str, Any]:
    """The unit tree of `tests.factories.make_tree` (a province, districts, THCS Ngọc Sơn, …)."""
    return await make_tree(db)


@pytest.fixture
async def lan(harness: Harness, tree: dict[str, Any]) -> Reporter:
    """A parent of THCS Ngọc Sơn who agreed to the notice on an earlier day."""
    reporter = Reporter(harness)
    await reporter.agreed(tree["ns"])
    return reporter


@pytest.fixture
async def bot_process(fake: FakeTelegram, db_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    await process.wait_ready(timeout=120)  # start-up is not what the tests time: a loaded machine may be slow
    yield process
    await process.kill()


