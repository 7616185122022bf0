"""Migrations on both backends: up from nothing, all the way down, up again, and the result matches the models.

An operator upgrades a live database with `python -m bot migrate`; a migration that works on the developer's
SQLite but not on the province's PostgreSQL, or a model change nobody wrote a migration for, shows up here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import create_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base


@contextlib.asynccontextmanager
async def _connected(url: str, *, begin: bool = False) -> AsyncIterator[AsyncConnection]:
    """A connection on an engine of its own, disposed after: each look at the database is a fresh one,
    between migrations that ran in other engines."""
    engine = create_engine(url)
    try:
        async with engine.begin() if begin else engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def _schema(url: str) -> tuple[set[str], list[object]]:
    """The tables present, and what differs between the database and the models."""
    def inspect_sync(sync_connection):  # type: ignore[no-untyped-def]
        tables = set(inspect(sync_connection).get_table_names())
        diff = compare_metadata(MigrationContext.configure(sync_connection), Base.metadata)
        return tables, diff

    async with _connected(url) as connection:
        return await connection.run_sync(inspect_sync)


def test_upgrade_downgrade_upgrade_leaves_the_schema_the_models_describe(empty_url: str) -> None:
    upgrade(empty_url)
    tables, diff = asyncio.run(_schema(empty_url))
    assert {"cases", "case_events", "outbox", "inbox_updates", "units", "members"} <= tables
    assert diff == [], f"models and migrations disagree: {diff}"

    downgrade(empty_url, "base")
    tables, _ = asyncio.run(_schema(empty_url))
    assert tables <= {"alembic_version"}, f"left behind after downgrade: {tables}"

    upgrade(empty_url)
    _, diff = asyncio.run(_schema(empty_url))
    assert diff == []


def test_head_names_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() == HEAD


def test_a_database_is_at_head_only_once_every_migration_is_applied(empty_url: str) -> None:
    from storage.migrate import at_head, upgrade_async

    assert not asyncio.run(at_head(empty_url))  # nothing there yet
    upgrade(empty_url, "0004")
    assert not asyncio.run(at_head(empty_url))
    asyncio.run(upgrade_async(empty_url))
    assert asyncio.run(at_head(empty_url))
    _, diff = asyncio.run(_schema(empty_url))
    assert diff == []


UPGRADE_AND_SAY_IF_ALEMBIC_LOADED = r"""
import asyncio, sys
from storage.migrate import upgrade_async
asyncio.run(upgrade_async(sys.argv[1]))
print("alembic" in sys.modules)
"""


def _start_says_if_alembic_loaded(url: str) -> bool:
    import subprocess
    import sys

    command = [sys.executable, "-c", UPGRADE_AND_SAY_IF_ALEMBIC_LOADED, url]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip() == "True"


def test_only_a_database_with_migrations_to_run_loads_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    new = f"sqlite+aiosqlite:///{tmp_path}/new.db"
    assert not _start_says_if_alembic_loaded(new)  # a new database: the models' schema, stamped at head
    assert not _start_says_if_alembic_loaded(new)  # a restart: found at head

    behind = f"sqlite+aiosqlite:///{tmp_path}/behind.db"
    upgrade(behind, "0004")
    assert _start_says_if_alembic_loaded(behind)  # one migration to run
    assert not _start_says_if_alembic_loaded(behind)


SQLITE_CATALOG = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
PG_CATALOG = {
    "columns": """SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
                  FROM information_schema.columns WHERE table_schema = 'public'""",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                      WHERE connamespace = 'public'::regnamespace""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "types": """SELECT t.typname, e.enumlabel, e.enumsortorder FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                WHERE t.typnamespace = 'public'::regnamespace""",
    "sequences": "SELECT sequencename, data_type, increment_by FROM pg_sequences WHERE schemaname = 'public'",
}


def _top_level_items(body: str) -> frozenset[str]:
    """The comma-separated items of a CREATE TABLE's body, commas inside parentheses or quotes kept."""
    items, depth, quoted, start = [], 0, False, 0
    for at, char in enumerate(body):
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
        elif not quoted and depth == 0 and char == ",":
            items.append(body[start:at])
            start = at + 1
    items.append(body[start:])
    return frozenset(" ".join(item.split()) for item in items)


def _sqlite_object(kind: str, name: str, table: str, sql: str | None) -> tuple[object, ...]:
    """One schema object, told apart from its twin only by what matters to a query: a table's columns and
    constraints in any order (`ALTER TABLE … ADD COLUMN` appends a column, Alembic's batch mode rebuilds a
    table with its constraints reordered), identifiers with or without quotes (SQLite quotes a renamed
    table's name), and whitespace."""
    sql = " ".join((sql or "").replace('"', "").split())
    if kind != "table":
        return kind, name, table, sql
    head, body = sql.split("(", 1)
    return kind, name, table, head.strip(), _top_level_items(body.rsplit(")", 1)[0])


async def _catalog(url: str) -> set[tuple[object, ...]]:
    """Every object of the database's schema, described for comparison."""
    async with _connected(url) as connection:
        if connection.dialect.name == "sqlite":
            rows = (await connection.exec_driver_sql(SQLITE_CATALOG)).all()
            return {_sqlite_object(*row) for row in rows}
        return {
            (kind, *row)
            for kind, query in PG_CATALOG.items()
            for row in (await connection.exec_driver_sql(query)).all()
        }


async def _drop_version_table(url: str) -> None:
    async with _connected(url, begin=True) as connection:
        await connection.exec_driver_sql("DROP TABLE alembic_version")


def test_a_new_database_gets_exactly_the_schema_the_migrations_build(empty_url: str) -> None:
    from storage.migrate import HEAD, at_head, upgrade_async

    asyncio.run(upgrade_async(empty_url))  # a new database: created from the models, stamped at head
    assert asyncio.run(at_head(empty_url))
    created = asyncio.run(_catalog(empty_url))
    assert any("cases" in obj[:3] for obj in created), created

    downgrade(empty_url, "base")  # the stamp is true: Alembic can take the schema down from HEAD ...
    tables, _ = asyncio.run(_schema(empty_url))
    assert tables <= {"alembic_version"}, f"left behind after downgrade: {tables}"
    asyncio.run(_drop_version_table(empty_url))  # so that Alembic's own stands against `_VERSION_TABLE`
    upgrade(empty_url, HEAD)  # ... and build it up again, migration by migration
    migrated = asyncio.run(_catalog(empty_url))

    assert created - migrated == set(), "only in the schema created from the models"
    assert migrated - created == set(), "only in the schema the migrations build"


def test_every_migration_is_one_the_models_can_stand_in_for() -> None:
    """A new database skips the migrations for the models' `create_all`, which holds tables, columns,
    constraints and indexes (a partial index's condition too), not rows, triggers or extensions: a migration
    that runs SQL of its own or seeds data must also teach `storage.migrate.create_if_empty` to do it (and
    this test to allow it)."""
    from storage.migrate import MIGRATIONS_DIR

    for migration in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = migration.read_text()
        for escape in ("op.execute", "bulk_insert", "get_bind", "exec_driver_sql"):
            assert escape not in source, f"{migration.name} uses {escape}: see this test's docstring"
