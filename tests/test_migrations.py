"""Migrations on both backends: up from nothing, all the way down, up again, and the result matches the models.

An operator upgrades a live database with `python -m bot migrate`; a migration that works on the developer's
SQLite but not on the province's PostgreSQL, or a model change nobody wrote a migration for, shows up here.
"""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base


async def _schema(url: str) -> tuple[set[str], list[object]]:
    """The tables present, and what differs between the database and the models."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            def inspect_sync(sync_connection):  # type: ignore[no-untyped-def]
                tables = set(inspect(sync_connection).get_table_names())
                diff = compare_metadata(MigrationContext.configure(sync_connection), Base.metadata)
                return tables, diff

            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


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


UPGRADE_TWICE = r"""
import asyncio, sys
from storage.migrate import upgrade_async
url = sys.argv[1]
asyncio.run(upgrade_async(url))
first = "alembic" in sys.modules
for name in [n for n in sys.modules if n == "alembic" or n.startswith("alembic.")]:
    del sys.modules[name]
asyncio.run(upgrade_async(url))
print(first, "alembic" in sys.modules)
"""


def test_a_restart_on_a_migrated_database_does_not_load_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    out = subprocess.run([sys.executable, "-c", UPGRADE_TWICE, url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]  # migrated by Alembic, then found at head without it
