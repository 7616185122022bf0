"""Shared fixtures: a migrated database, settings, the real Dispatcher driven with a mocked Bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.i18n import load_catalog
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.e2e import TOKEN as E2E_TOKEN
from tests.e2e import BotProcess
from tests.fakebot import FakeTelegram
from tests.harness import Harness

TOKEN = "123456:TEST-token-aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A freshly migrated SQLite database file (migrations run outside the event loop)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    upgrade(url)
    yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
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
async def bot_process(fake: FakeTelegram, db_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    yield process
    await process.kill()


