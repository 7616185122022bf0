"""Engine and session set-up for SQLite (embedded default) and PostgreSQL.

SQLite is tuned for a case store: WAL so readers never block the writer, every commit on disk before it
returns (an fsync of the WAL, what `synchronous=FULL` does) so a power cut cannot eat the last confirmed
report, unless the transaction asked for less (`durable=False`, see `Database.transaction`), foreign keys
on, SQLite run on the event loop's thread (`storage.sqlite_inline`, which also waits out other processes'
locks), and `BEGIN IMMEDIATE` so a transaction takes the write lock up front instead of failing with
"database is locked" when it upgrades from reading to writing under a concurrent writer. Transactions that
queue for SQLite's one connection share one COMMIT (`storage.group_commit`); `Database.transaction()` hides
which kind a caller gets.

Writes that several steps of one transaction change (the conversation state) are held back and made
once, just before the commit (`before_commit`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_inline
from storage.group_commit import GroupCommit, Member

SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=0",  # waits for another process's lock happen in `sqlite_inline`, off SQLite's sleep
)

# The session of the update being handled, so the FSM storage writes in the same transaction.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)
_BEFORE_COMMIT = "tx.before_commit"  # session.info: writes held back until the transaction commits
TRANSACTION_SCOPED = "tx."  # session.info keys with this prefix hold what the current transaction did

Hook = Callable[[AsyncSession], Awaitable[None]]


def before_commit(session: AsyncSession, name: str, hook: Hook) -> None:
    """Run `hook` once, just before this session's transaction commits (`prepare_commit`): a write that
    several steps of one update change is made once, with its final value."""
    session.info.setdefault(_BEFORE_COMMIT, {})[name] = hook


async def prepare_commit(session: AsyncSession) -> None:
    """The writes held back by `before_commit`; whoever commits a session calls this first."""
    while hooks := session.info.pop(_BEFORE_COMMIT, None):
        for hook in hooks.values():
            await hook(session)


def forget_held(session: AsyncSession) -> None:
    """The transaction rolled back: what it held back (and had read) is gone with it."""
    for key in [key for key in session.info if key.startswith(TRANSACTION_SCOPED)]:
        del session.info[key]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event (below) issue BEGIN itself instead of pysqlite's deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.execute("PRAGMA journal_mode=WAL")
        in_wal = str(cursor.fetchone()[0]).lower() == "wal"  # not for an in-memory database
        cursor.execute("PRAGMA database_list")
        path = next((row[2] for row in cursor.fetchall() if row[1] == "main"), "")
        driver = dbapi_connection._connection
        inline = isinstance(driver, sqlite_inline.InlineConnection)
        wal = f"{path}-wal" if in_wal and path and inline else None
        # In WAL mode the fsync of a durable commit is made by `sqlite_inline` (which can skip it for a lazy
        # one); otherwise SQLite makes it at every commit.
        cursor.execute(f"PRAGMA synchronous={'NORMAL' if wal else 'FULL'}")
        cursor.close()
        if inline:
            driver.wal = wal

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def dialect_insert(dialect: str, table: Any) -> Any:
    """An INSERT that supports `on_conflict_do_nothing/_update` on `dialect` (SQLite, PostgreSQL)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url` with the dialect's safety settings applied."""
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        database = make_url(url).database
        # One connection: every transaction takes SQLite's single write lock (BEGIN IMMEDIATE) anyway, and
        # sessions queued for the pool's connection are woken in order the moment it is free, where
        # sessions on connections of their own would poll SQLite's busy handler, which sleeps 1 ms,
        # 2 ms, … up to 100 ms between tries (bench B1/B2: 57 ms per BEGIN under load).
        pool = {"pool_size": 1, "max_overflow": 0} if database and database != ":memory:" else {}
        path = database or ":memory:"
        engine = create_async_engine(url, echo=echo, async_creator=lambda: sqlite_inline.connect(path), **pool)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Transaction(Protocol):
    """One unit of work: its session, ended by `commit()` (durable when it returns, unless `durable` was
    lowered before it: see `Database.transaction`) or `rollback()`."""

    session: AsyncSession
    durable: bool

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class _Standalone:
    """A transaction of its own (PostgreSQL: a pooled connection each)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.done = False
        self.durable = True  # PostgreSQL commits every transaction durably

    async def commit(self) -> None:
        await prepare_commit(self.session)
        await self.session.commit()
        self.done = True

    async def rollback(self) -> None:
        self.done = True
        forget_held(self.session)
        await self.session.rollback()


class _Grouped:
    """A member of SQLite's group commit (`storage.group_commit`)."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self.session = member.session

    @property
    def done(self) -> bool:
        return self.member.done

    @property
    def durable(self) -> bool:
        return self.member.durable

    @durable.setter
    def durable(self, durable: bool) -> None:
        self.member.durable = durable

    async def commit(self) -> None:
        await prepare_commit(self.session)
        await self.member.commit()

    async def rollback(self) -> None:
        forget_held(self.session)
        await self.member.rollback()


class Database:
    """Owns the engine and hands out transactions; one per update, committed in one place."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        options: dict[str, Any] = {"expire_on_commit": False, "autoflush": True}
        self.sessions = async_sessionmaker(self.engine, **options)
        self._group = GroupCommit(self.engine, **options) if is_sqlite(url) else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, durable: bool = True) -> AsyncIterator[Transaction]:
        """A transaction the block ends with `commit()` or `rollback()`; left otherwise, it rolls back. On
        SQLite it shares the COMMIT of the transactions that waited for the connection with it.

        `durable=False`, for what a power cut may lose (or repeat) without harm: its commit is kept if the
        process dies, but waits for no fsync; it is on disk after the next durable commit, or once
        `until_durable()` returns. The block may also decide later, setting the transaction's `durable`
        before its commit (an update's handler: `handlers.middlewares`). PostgreSQL commits every
        transaction durably."""
        async with contextlib.AsyncExitStack() as stack:
            transaction: _Standalone | _Grouped
            if self._group is not None:
                transaction = _Grouped(await stack.enter_async_context(self._group.member(durable=durable)))
            else:
                transaction = _Standalone(await stack.enter_async_context(self.sessions()))
            try:
                yield transaction
            finally:
                if not transaction.done:
                    await transaction.rollback()

    @asynccontextmanager
    async def session(self, *, durable: bool = True) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends normally and rolls back otherwise."""
        async with self.transaction(durable=durable) as transaction:
            yield transaction.session
            await transaction.commit()

    async def until_durable(self) -> None:
        """Everything committed so far, by `durable=False` transactions too, is on disk when this returns."""
        if self._group is not None:
            await self._group.until_durable()

    @asynccontextmanager
    async def current_or_new(self) -> AsyncIterator[AsyncSession]:
        """The update's session when inside one (its owner commits), else a short transaction of our own."""
        session = current_session.get()
        if session is not None:
            yield session
            return
        async with self.session() as own:
            yield own

    async def dispose(self) -> None:
        await self.engine.dispose()
