"""The few statements every update runs, sent straight to the driver inside the session's transaction.

SQLAlchemy's execution path (compiled-cache lookup, execution context, result object, greenlet switches,
events) costs 0.3–0.6 ms of CPU per statement on the slow VM of BENCHMARKS.md, where SQLite's own work
is about 10 µs. Every intake update runs four such statements — the inbox mark, the conversation read
(with the reporter's language) and written back, the row that keeps its replies — and through the ORM they
(five then, the language read on its own) cost 3.2 ms, more than everything else the update does (bench
B1); confirming a report sends its lookups the same way (`storage.cases`, `storage.routing`). Here they
are plain SQL, one text per dialect, and every value goes through its column type's own SQLAlchemy
processors (`UTCDateTime`, `JSON`), so the rows are exactly the ones the ORM reads and writes elsewhere.

The statements run in the session's transaction: `Direct.of(session)` asks the session for its
connection first, which begins it (`BEGIN IMMEDIATE` on SQLite), and flushes what the ORM holds unwritten,
as SQLAlchemy's autoflush does before a query. On SQLite they go to the `sqlite3`
connection itself, on the event loop's thread like every other statement (`storage.sqlite_inline`);
inside a `BEGIN IMMEDIATE` transaction SQLite never answers "database is locked". On PostgreSQL they go
through `exec_driver_sql`, which keeps the asyncpg adapter's transaction handling.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import UTCDateTime

_KEY = "tx.direct"  # session.info: (the session's transaction, its Direct); "tx." keys end with the transaction
_BOUND = "direct.bound"  # session.info: the Direct of the transaction the session lives in (SQLite's groups)


@dataclass(frozen=True)
class Sql:
    """One statement in each dialect's parameter style: SQLite's `?`, asyncpg's `$1`."""

    sqlite: str
    postgresql: str

    @classmethod
    def numbered(cls, text: str) -> Sql:
        """From SQLite's text: the n-th `?` becomes `$n` for PostgreSQL."""
        parts = text.split("?")
        numbered = parts[0] + "".join(f"${index}{part}" for index, part in enumerate(parts[1:], start=1))
        return cls(text, numbered)


@functools.cache
def _processors(dialect: Dialect) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any],
                                            Callable[[Any], Any]]:
    """(datetime in, datetime out, JSON in, JSON out) as the ORM converts them on this dialect."""
    def identity(value: Any) -> Any:
        return value

    moment, document = UTCDateTime().dialect_impl(dialect), JSON().dialect_impl(dialect)
    return (moment.bind_processor(dialect) or identity, moment.result_processor(dialect, None) or identity,
            document.bind_processor(dialect) or identity, document.result_processor(dialect, None) or identity)


class Direct:
    """The driver of one transaction, with the dialect's value conversions."""

    def __init__(self, connection: AsyncConnection, raw: Any, driver: Any = None) -> None:
        self.connection = connection
        self.dialect = connection.dialect.name
        self.raw = raw  # sqlite3.Connection on SQLite, else None (exec_driver_sql)
        self.driver = driver  # SQLite: the `sqlite_inline.InlineConnection` around `raw`
        self.time_in, self.time_out, self.json_in, self.json_out = _processors(connection.dialect)

    @classmethod
    async def of(cls, session: AsyncSession) -> Direct:
        """The driver of the session's current transaction (begun now if it was not yet). Objects the ORM
        holds unwritten are flushed first, as before any ORM query, so a statement here sees them; inside
        `session.no_autoflush` they are not, as they would not be before an ORM query."""
        if session.sync_session.autoflush and (session.new or session.deleted or session.dirty):
            await session.flush()
        bound = session.info.get(_BOUND)
        if bound is not None:
            return bound  # type: ignore[no-any-return]
        transaction = session.sync_session.get_transaction()
        cached = session.info.get(_KEY)
        if transaction is not None and cached is not None and cached[0] is transaction:
            return cached[1]
        direct = await cls.on(await session.connection())
        session.info[_KEY] = (session.sync_session.get_transaction(), direct)
        return direct

    @classmethod
    async def on(cls, connection: AsyncConnection) -> Direct:
        """The driver under `connection`: SQLite's `sqlite3` connection itself, PostgreSQL's through SQLAlchemy."""
        if connection.dialect.name != "sqlite":
            return cls(connection, None)
        driver = (await connection.get_raw_connection()).driver_connection
        return cls(connection, driver._conn, driver)  # type: ignore[union-attr]

    @staticmethod
    def bind(session: AsyncSession, direct: Direct) -> None:
        """`session` lives inside `direct`'s transaction for its whole life (`storage.group_commit`)."""
        session.info[_BOUND] = direct

    def _text(self, sql: Sql | str) -> str:
        """A `str` is already in this connection's parameter style (built with `marks`)."""
        if isinstance(sql, str):
            return sql
        return sql.sqlite if self.raw is not None else sql.postgresql

    def run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """SQLite: `sql` on the driver, its errors raised as SQLAlchemy raises them (`OperationalError`…),
        so a failing disk is taken for the database being down wherever SQLAlchemy's would be."""
        assert self.raw is not None
        try:
            return self.raw.execute(sql, params)  # type: ignore[no-any-return]
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, tuple(params), exc, sqlite3.Error) from exc

    async def execute(self, sql: Sql | str, params: Sequence[Any] = ()) -> int:
        """Run a write; the number of rows it touched."""
        if self.raw is not None:
            return int(self.run(self._text(sql), params).rowcount)
        result = await self.connection.exec_driver_sql(self._text(sql), tuple(params))
        return int(result.rowcount)

    async def rows(self, sql: Sql | str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.raw is not None:
            return self.run(self._text(sql), params).fetchall()
        result = await self.connection.exec_driver_sql(self._text(sql), tuple(params))
        return [tuple(row) for row in result.fetchall()]

    async def row(self, sql: Sql | str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        if self.raw is not None:
            return self.run(self._text(sql), params).fetchone()  # type: ignore[no-any-return]
        result = await self.connection.exec_driver_sql(self._text(sql), tuple(params))
        found = result.fetchone()
        return tuple(found) if found is not None else None

    def marks(self, count: int, start: int = 1) -> str:
        """`?, ?, ?` or `$start, $start+1, …`: the placeholders of an IN list or a multi-row VALUES."""
        if self.raw is not None:
            return ", ".join("?" * count)
        return ", ".join(f"${index}" for index in range(start, start + count))
