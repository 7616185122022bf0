"""SQLite on the event loop's thread: another process's write lock is waited out without stopping the loop."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import sqlite_inline
from storage.db import Database


@pytest.fixture
def sqlite_db_url(sqlite_templates, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return sqlite_templates.fresh(tmp_path)


def _hold_write_lock(url: str) -> sqlite3.Connection:
    """What a CLI import in another process does to the bot: holds SQLite's write lock."""
    other = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def _ticks_while(work: asyncio.Future) -> int:  # type: ignore[type-arg]
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.005)
        ticks += 1
    return ticks


async def test_a_write_waits_for_another_process_and_the_loop_keeps_running(sqlite_db_url):
    db = Database(sqlite_db_url)
    async with db.session() as session:
        await session.execute(text("CREATE TABLE scratch (v TEXT)"))
    other = _hold_write_lock(sqlite_db_url)
    try:
        async def write() -> None:
            async with db.session() as session:
                await session.execute(text("INSERT INTO scratch VALUES ('Trường X')"))

        work = asyncio.ensure_future(write())
        await asyncio.sleep(0.2)
        assert not work.done()  # still waiting for the lock …
        asyncio.get_running_loop().call_later(0.1, other.commit)
        ticks = await _ticks_while(work)
        await work
        assert ticks >= 5  # … while the loop served everyone else
        async with db.session() as session:
            assert await session.scalar(text("SELECT v FROM scratch")) == "Trường X"
    finally:
        other.close()
        await db.dispose()


async def test_a_lock_held_too_long_fails_the_transaction_instead_of_hanging(sqlite_db_url, monkeypatch):
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT", 0.2)
    db = Database(sqlite_db_url)
    other = _hold_write_lock(sqlite_db_url)
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with db.session() as session:
                await session.execute(text("SELECT 1"))
    finally:
        other.close()
        await db.dispose()
