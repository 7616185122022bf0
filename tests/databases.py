"""Fresh, fully migrated databases for tests, on SQLite and on PostgreSQL.

Running Alembic for every test would cost more than most tests. The migrations run once per session into a
template (a SQLite file; a PostgreSQL database), and each test gets a copy: SQLite's backup API (WAL content
included) or `CREATE DATABASE … TEMPLATE …`, which PostgreSQL does in a few tens of milliseconds.

PostgreSQL tests skip, with the reason shown, when the server cannot be reached, except under
`REQUIRE_SERVICES=1` (set by `.ci/run`), where an unreachable server is a failure: CI can never pass by
skipping them.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.migrate import upgrade

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ("sqlite", "postgresql")


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: str) -> None:
    """Skip the test, or fail it when services are required."""
    import pytest  # here, so the benchmarks can share the helpers below without pytest installed

    message = f"{service} is not reachable ({reason})"
    if services_required():
        pytest.fail(f"{message} and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def server_dsn(url: str = POSTGRES_URL) -> str:
    """The libpq-style DSN of the maintenance database (asyncpg wants no "+driver")."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_execute_async(*statements: str, url: str = POSTGRES_URL) -> None:
    """Run statements on the maintenance database of `url`'s server (CREATE/DROP DATABASE); also bench's."""
    import asyncpg

    connection = await asyncio.wait_for(asyncpg.connect(server_dsn(url)), 5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def pg_execute(*statements: str) -> None:
    """Run statements on the maintenance database from synchronous code (fixtures outside the loop)."""
    asyncio.run(pg_execute_async(*statements))


class SqliteTemplates:
    def __init__(self) -> None:
        self._template: Path | None = None
        self._folder = Path(tempfile.mkdtemp(prefix="bot-test-template-"))

    def fresh(self, folder: Path) -> str:
        if self._template is None:
            template = self._folder / "template.db"
            upgrade(f"sqlite+aiosqlite:///{template}")
            self._template = template
        target = folder / "bot.db"
        source, copy = sqlite3.connect(self._template), sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        return f"sqlite+aiosqlite:///{target}"

    def close(self) -> None:
        import shutil

        shutil.rmtree(self._folder, ignore_errors=True)


class PostgresTemplates:
    """One migrated template database per test session; one copy per test, dropped afterwards."""

    def __init__(self) -> None:
        self.prefix = f"bt_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._template: str | None = None
        self._error: str | None = None
        self._copies: list[str] = []

    def _url(self, name: str) -> str:
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        """A new migrated database's URL (skips or fails the test when PostgreSQL is unreachable)."""
        if self._error is None and self._template is None:
            name = f"{self.prefix}_template"
            try:
                pg_execute(f'CREATE DATABASE "{name}"')
            except Exception as exc:  # unreachable, refused, timed out: all mean "no PostgreSQL here"
                self._error = f"{type(exc).__name__}: {exc}"
            else:
                upgrade(self._url(name))
                self._template = name
        if self._error is not None:
            unavailable("PostgreSQL", self._error)
        copy = f"{self.prefix}_{len(self._copies)}"
        pg_execute(f'CREATE DATABASE "{copy}" TEMPLATE "{self._template}"')
        self._copies.append(copy)
        return self._url(copy)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self._template is not None:
            pg_execute(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                         for name in [*self._copies, self._template]))


class SentStatements:
    """Every statement the database is sent while the block runs, whichever path it takes: SQLAlchemy's
    execution, or straight to the driver (`storage.direct`). SQLite reports what its connection runs;
    PostgreSQL's statements all pass SQLAlchemy's `before_cursor_execute`."""

    def __init__(self, db: object) -> None:
        self.db = db
        self.sent: list[str] = []
        self._raw: sqlite3.Connection | None = None

    def _record(self, statement: str, *_args: object) -> None:
        self.sent.append(" ".join(statement.split()))

    def _record_cursor(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        self._record(statement)

    def starting(self, *words: str) -> list[str]:
        """The statements (upper-cased first words) that begin with `words`, e.g. ("UPDATE FSM",)."""
        prefixes = tuple(word.upper() for word in words)
        return [s for s in self.sent if s.upper().startswith(prefixes)]

    async def __aenter__(self) -> SentStatements:
        from sqlalchemy import event

        engine = self.db.engine  # type: ignore[attr-defined]
        if engine.dialect.name == "sqlite":
            async with engine.connect() as connection:  # the pool's only connection, kept open by the pool
                self._raw = (await connection.get_raw_connection()).driver_connection._conn
            self._raw.set_trace_callback(self._record)
        else:
            event.listen(engine.sync_engine, "before_cursor_execute", self._record_cursor)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        if self._raw is not None:
            self._raw.set_trace_callback(None)
        else:
            event.remove(self.db.engine.sync_engine, "before_cursor_execute", self._record_cursor)  # type: ignore[attr-defined]
