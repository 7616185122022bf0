"""SQLite's group commit: transactions waiting for the connection share one COMMIT, each still succeeding or
failing on its own, and nothing is reported committed before it is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.health import DATABASE, dependency_of
from storage import sqlite_inline
from storage.db import Database
from storage.direct import Direct
from storage.models import Reporter


@pytest.fixture
def sqlite_db_url(sqlite_templates, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return sqlite_templates.fresh(tmp_path)


@pytest.fixture
async def db(sqlite_db_url: str) -> Any:
    database = Database(sqlite_db_url)
    async with database.session() as session:
        await session.execute(text("CREATE TABLE scratch (v TEXT)"))
    yield database
    await database.dispose()


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every COMMIT the connection makes; `fail_next` makes the next one fail as a broken disk would."""
    made: list[str] = []
    original = sqlite_inline.InlineConnection.commit

    async def counted(self: sqlite_inline.InlineConnection) -> None:
        if made and made[-1] == "fail_next":
            made[-1] = "failed"
            raise sqlite3.OperationalError("disk I/O error")
        await original(self)
        made.append("ok")

    monkeypatch.setattr(sqlite_inline.InlineConnection, "commit", counted)
    return made


async def _write(db: Database, value: str, *, fail: bool = False) -> None:
    async with db.session() as session:
        await session.execute(text("INSERT INTO scratch VALUES (:v)"), {"v": value})
        if fail:
            raise RuntimeError("the handler failed")


async def _stored(db: Database) -> set[str]:
    async with db.session() as session:
        return set(await session.scalars(text("SELECT v FROM scratch")))


async def _while_busy(db: Database, *writers: Any) -> list[Any]:
    """Start `writers` while a transaction holds the connection, so that they all queue for it."""
    async with db.transaction() as first:
        tasks = [asyncio.ensure_future(writer) for writer in writers]
        await asyncio.sleep(0)
        await first.session.execute(text("INSERT INTO scratch VALUES ('first')"))
        await first.commit()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_transactions_waiting_for_the_connection_share_one_commit(db: Database, commits: list[str]) -> None:
    await _while_busy(db, *(_write(db, f"r{i}") for i in range(10)))
    assert commits == ["ok"]
    assert await _stored(db) == {"first", *(f"r{i}" for i in range(10))}


async def test_a_member_that_fails_leaves_the_others_of_its_group_untouched(db: Database, commits: list[str]) -> None:
    results = await _while_busy(db, _write(db, "a"), _write(db, "b", fail=True), _write(db, "c"))
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    assert commits == ["ok"]
    assert await _stored(db) == {"first", "a", "c"}


async def test_the_first_member_failing_takes_nothing_of_those_waiting_with_it(db: Database,
                                                                              commits: list[str]) -> None:
    """The first member has no savepoint: it rolls the whole transaction back, and those queued behind it
    begin a new one."""
    with pytest.raises(RuntimeError):
        async with db.session() as first:
            writers = [asyncio.ensure_future(_write(db, v)) for v in "xyz"]
            await asyncio.sleep(0)
            first.add(Reporter(user_id=5, locale="vi"))
            await (await Direct.of(first)).execute("INSERT INTO scratch VALUES ('first')")
            await first.flush()
            raise RuntimeError("the handler failed")
    assert await asyncio.gather(*writers) == [None, None, None]
    assert commits == ["ok"]
    assert await _stored(db) == set("xyz")
    async with db.session() as session:
        assert list(await session.scalars(text("SELECT user_id FROM reporters"))) == []


async def test_a_failed_commit_fails_every_member_and_the_next_transaction_works(db: Database,
                                                                                  commits: list[str]) -> None:
    commits.append("fail_next")
    async with db.transaction() as first:
        writers = [asyncio.ensure_future(_write(db, v)) for v in "xyz"]
        await asyncio.sleep(0)
        await first.session.execute(text("INSERT INTO scratch VALUES ('first')"))
        with pytest.raises(OperationalError):
            await first.commit()
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert all(isinstance(r, OperationalError) for r in results), results
    assert dependency_of(results[0]) == DATABASE  # taken for an outage: the updates wait, they are not parked
    assert await _stored(db) == set()
    await _write(db, "after")
    assert await _stored(db) == {"after"}


async def test_a_member_is_durable_when_its_commit_returns(db: Database, commits: list[str]) -> None:
    """The first member of a group waits for the last one's COMMIT: nothing is announced before it."""
    order: list[str] = []

    async def early() -> None:
        await _write(db, "early")
        order.append(f"early returned after {len(commits)} commit(s)")

    await _while_busy(db, early(), _write(db, "late"))
    assert order == ["early returned after 1 commit(s)"] and commits == ["ok"]


async def test_the_orm_and_the_driver_commit_and_roll_back_together(db: Database) -> None:
    async def both(user_id: int, *, fail: bool) -> None:
        async with db.session() as session:
            session.add(Reporter(user_id=user_id, locale="vi"))
            await (await Direct.of(session)).execute("INSERT INTO scratch VALUES (?)", (f"u{user_id}",))
            if fail:
                raise RuntimeError("rolled back")

    await asyncio.gather(both(1, fail=False), both(2, fail=True), return_exceptions=True)
    async with db.session() as session:
        assert list(await session.scalars(text("SELECT user_id FROM reporters"))) == [1]
    assert await _stored(db) == {"u1"}


async def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(db: Database) -> None:
    """Outage detection (`bot.health`) knows SQLAlchemy's exceptions, whichever path a statement took."""
    with pytest.raises(OperationalError) as caught:
        async with db.session() as session:
            await (await Direct.of(session)).execute("INSERT INTO no_such_table VALUES (1)")
    assert isinstance(caught.value.orig, sqlite3.OperationalError)


async def test_a_transaction_waiting_too_long_for_the_connection_fails_instead_of_hanging(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from storage import group_commit

    monkeypatch.setattr(group_commit, "TURN_TIMEOUT", 0.1)
    with pytest.raises(PoolTimeout):
        async with db.session():
            async with db.session():  # nested: it can never get the connection its caller holds
                pass


# --- durable and lazy commits ------------------------------------------------------------------------


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every fsync `sqlite_inline` makes after a commit (the files synced)."""
    made: list[str] = []
    original = sqlite_inline.sync_file

    def counted(path: str) -> None:
        original(path)
        made.append(path)

    monkeypatch.setattr(sqlite_inline, "sync_file", counted)
    return made


async def _write_lazily(db: Database, value: str) -> None:
    async with db.session(durable=False) as session:
        await session.execute(text("INSERT INTO scratch VALUES (:v)"), {"v": value})


async def test_a_durable_commit_syncs_the_wal_and_a_lazy_one_leaves_it_to_the_next_sync(
        db: Database, fsyncs: list[str]) -> None:
    await _write(db, "durable")
    assert len(fsyncs) == 1 and fsyncs[0].endswith("-wal")
    await _write_lazily(db, "lazy")
    assert len(fsyncs) == 1  # committed, not synced
    assert await _stored(db) == {"durable", "lazy"}  # and visible at once
    await db.until_durable()
    assert len(fsyncs) == 2  # the lazy commit is on disk now
    await db.until_durable()
    await _write(db, "durable again")
    await db.until_durable()
    assert len(fsyncs) == 3  # nothing was left to sync either time


async def test_a_group_syncs_once_when_any_of_its_members_is_durable(db: Database, commits: list[str],
                                                                     fsyncs: list[str]) -> None:
    async def group(*writers: Any) -> None:
        async with db.transaction(durable=False) as first:
            tasks = [asyncio.ensure_future(writer) for writer in writers]
            await asyncio.sleep(0)
            await first.session.execute(text("INSERT INTO scratch VALUES ('first')"))
            await first.commit()
        await asyncio.gather(*tasks)

    await group(_write_lazily(db, "a"), _write_lazily(db, "b"))
    assert commits == ["ok"] and fsyncs == []  # nobody asked for the disk
    await group(_write_lazily(db, "c"), _write(db, "d"), _write_lazily(db, "e"))
    assert commits == ["ok", "ok"] and len(fsyncs) == 1  # one COMMIT, one fsync, the lazy members' too
    await db.until_durable()
    assert len(fsyncs) == 1  # the first group's commit was covered by the second's fsync


async def test_sqlite_syncs_every_commit_itself_where_it_has_no_wal(tmp_path: Any, fsyncs: list[str]) -> None:
    """WAL mode: NORMAL, and the fsync is ours; an in-memory database has no WAL: FULL, as always."""
    for url, expected in ((f"sqlite+aiosqlite:///{tmp_path}/file.db", 1), ("sqlite+aiosqlite:///:memory:", 2)):
        database = Database(url)
        try:
            async with database.session() as session:
                assert (await session.execute(text("PRAGMA synchronous"))).scalar_one() == expected
            assert len(fsyncs) == (1 if expected == 1 else 0)
            await database.until_durable()
        finally:
            await database.dispose()
        fsyncs.clear()


async def test_a_failing_sync_is_an_outage_not_a_bug(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk refusing the fsync fails the commit as SQLite's own I/O error would: the update waits."""
    def broken(path: str) -> None:
        raise sqlite3.OperationalError("disk I/O error: could not sync")

    monkeypatch.setattr(sqlite_inline, "sync_file", broken)
    with pytest.raises(OperationalError) as caught:
        await _write(db, "x")
    assert dependency_of(caught.value) == DATABASE
    await _write_lazily(db, "y")  # the connection still works
    with pytest.raises(OperationalError) as caught:
        await db.until_durable()
    assert dependency_of(caught.value) == DATABASE


async def test_a_slow_fsync_holds_up_only_the_commit_that_asked_for_the_disk(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The group's COMMIT hands the connection on before its fsync: while the disk hangs (bench B1 saw
    single fsyncs of a second), a lazy transaction begins, commits and is visible; the durable one returns
    only once its fsync is over."""
    disk = threading.Event()
    sync_file = sqlite_inline.sync_file

    def hanging(path: str) -> None:
        disk.wait(5)
        sync_file(path)

    monkeypatch.setattr(sqlite_inline, "sync_file", hanging)
    durable = asyncio.ensure_future(_write(db, "durable"))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(_write_lazily(db, "lazy"), 1)  # not behind the hanging fsync
    async with db.session(durable=False) as session:  # a read that asks nothing of the disk
        assert set(await session.scalars(text("SELECT v FROM scratch"))) == {"durable", "lazy"}
    assert not durable.done()  # committed, not yet on disk: its caller still waits
    disk.set()
    await asyncio.wait_for(durable, 5)
